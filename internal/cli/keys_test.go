package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/keys"
)

// runKeysCLI runs `portcullis ARGS` and returns stdout and the error.
func runKeysCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	defer a.Close()
	root := NewRoot(a)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

var kidLine = regexp.MustCompile(`(?m)^  kid: +(\S+)$`)

func outputKID(t *testing.T, out string) string {
	t.Helper()
	m := kidLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no kid in output:\n%s", out)
	}
	return m[1]
}

func TestKeysGenerateDefaults(t *testing.T) {
	dir := t.TempDir()
	out, err := runKeysCLI(t, "--data-dir", dir, "keys", "generate")
	if err != nil {
		t.Fatal(err)
	}
	keyPath, certPath := filepath.Join(dir, "signing.key"), filepath.Join(dir, "signing.crt")
	k, err := keys.Load(keyPath, certPath, "ES256")
	if err != nil {
		t.Fatalf("generated files do not load: %v", err)
	}
	for _, want := range []string{
		"Generated ES256 signing key",
		"  kid:          " + k.KID + "\n",
		"  fingerprint:  " + k.Fingerprint() + "\n",
		"  thumbprint:   " + k.Thumbprint() + "\n",
		"      rootcertbundle: " + certPath + "\n",
		"      realm: https://127.0.0.1:5001/token\n",
		"      service: registry\n",
		"      issuer: portcullis\n",
		"      - key: " + keyPath + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// No silent overwrite.
	_, err = runKeysCLI(t, "--data-dir", dir, "keys", "generate")
	if err == nil || !strings.Contains(err.Error(), "use --force") {
		t.Fatalf("overwrite without --force: %v", err)
	}
	if again, err := keys.Load(keyPath, certPath, "ES256"); err != nil || again.KID != k.KID {
		t.Fatalf("key changed after refused overwrite: %v", err)
	}
	out, err = runKeysCLI(t, "--data-dir", dir, "keys", "generate", "--force")
	if err != nil {
		t.Fatal(err)
	}
	if outputKID(t, out) == k.KID {
		t.Fatal("--force kept the old key")
	}
	if _, err := keys.Load(keyPath, certPath, "ES256"); err != nil {
		t.Fatalf("replaced pair does not load: %v", err)
	}
}

func TestKeysGenerateAlgorithms(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		alg     string
		want    []string
		notWant []string
		wantErr string
	}{
		{name: "ES384 with cn and validity", alg: "ES384", args: []string{"--cn", "reg-signer", "--validity", "48h"}, want: []string{"rootcertbundle"}},
		{name: "RS256", alg: "RS256", args: []string{"--rsa-bits", "2048"}, want: []string{"rootcertbundle"}},
		{name: "EdDSA", alg: "EdDSA", want: []string{"EdDSA needs registry 3.x"}},
		{name: "HS256", alg: "HS256", want: []string{"allow_hmac: true", "cannot be verified by a Docker registry"}, notWant: []string{"rootcertbundle", "thumbprint", "cert:"}},
		{name: "HS256 with cert", alg: "HS256", args: []string{"--out-cert", filepath.Join(dir, "x.crt")}, wantErr: "have no certificate"},
		{name: "unknown", alg: "PS256", wantErr: `unsupported algorithm "PS256"`},
		{name: "small RSA", alg: "RS256", args: []string{"--rsa-bits", "1024"}, wantErr: "RSA key size must be 2048 to 8192 bits"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyPath := filepath.Join(dir, tt.alg+string(rune('a'+i))+".key")
			certPath := ""
			args := []string{"--data-dir", dir, "keys", "generate", "--alg", tt.alg, "--out-key", keyPath}
			if !keys.IsHMAC(tt.alg) {
				certPath = filepath.Join(dir, tt.alg+string(rune('a'+i))+".crt")
				args = append(args, "--out-cert", certPath)
			}
			out, err := runKeysCLI(t, append(args, tt.args...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if _, statErr := os.Stat(keyPath); statErr == nil {
					t.Error("key written despite the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			k, err := keys.Load(keyPath, certPath, tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			if outputKID(t, out) != k.KID {
				t.Errorf("printed kid differs from the file's")
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			if tt.alg == "ES384" {
				c := k.Chain[0]
				if c.Subject.CommonName != "reg-signer" || c.NotAfter.After(time.Now().Add(49*time.Hour)) {
					t.Errorf("cert CN %q expires %s", c.Subject.CommonName, c.NotAfter)
				}
			}
		})
	}
}

func TestKeysShow(t *testing.T) {
	dir := t.TempDir()
	old, err := keys.Generate("ES256", keys.GenerateOptions{Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := keys.Generate("EdDSA", keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	if err := old.Save(p("old.key"), p("old.crt")); err != nil {
		t.Fatal(err)
	}
	if err := cur.Save(p("cur.key"), p("cur.crt")); err != nil {
		t.Fatal(err)
	}
	cfg := "data_dir: " + dir + `
token:
  keys:
    - {key: ` + p("old.key") + `, cert: ` + p("old.crt") + `, alg: ES256}
    - {key: ` + p("cur.key") + `, cert: ` + p("cur.crt") + `, alg: EdDSA, sign: true}
    - {key: ` + p("later.key") + `, cert: ` + p("later.crt") + `, alg: ES256}
`
	cfgPath := p("portcullis.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runKeysCLI(t, "--config", cfgPath, "keys", "show")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	blocks := strings.Split(out, "\n\n")
	if len(blocks) != 3 {
		t.Fatalf("want 3 key blocks:\n%s", out)
	}
	checks := [][]string{
		{"token.keys[0] (verifies)", "  alg:          ES256", "  kid:          " + old.KID, "  fingerprint:  " + old.Fingerprint(), "  thumbprint:   " + old.Thumbprint(), "(in 0 days)"},
		{"token.keys[1] (signs)", "  kid:          " + cur.KID, "  thumbprint:   " + cur.Thumbprint(), "  cert:         " + p("cur.crt"), "(in 3649 days)"},
		{"token.keys[2] (verifies)", "not created yet"},
	}
	for i, want := range checks {
		for _, w := range want {
			if !strings.Contains(blocks[i], w) {
				t.Errorf("block %d lacks %q:\n%s", i, w, blocks[i])
			}
		}
	}

	// A certificate that belongs to another key is reported and fails the
	// command.
	if err := os.WriteFile(p("later.key"), mustRead(t, p("cur.key")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("later.crt"), mustRead(t, p("old.crt")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runKeysCLI(t, "--config", cfgPath, "keys", "show")
	if err == nil || !strings.Contains(err.Error(), "1 of 3 keys could not be loaded") {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(out, "  error:        ") {
		t.Errorf("no error line:\n%s", out)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMisspeltEnvironmentWarns: a PORTCULLIS_ variable that sets nothing
// is reported on stderr, with the setting it was probably meant for.
func TestMisspeltEnvironmentWarns(t *testing.T) {
	t.Setenv("PORTCULLIS_TOKEN_EXPIRATON", "10m")
	var out, errOut bytes.Buffer
	a := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	defer a.Close()
	root := NewRoot(a)
	root.SetArgs([]string{"--data-dir", t.TempDir(), "keys", "show"})
	_ = root.Execute()
	want := "warning: environment variable PORTCULLIS_TOKEN_EXPIRATON is not a Portcullis setting and is ignored (did you mean PORTCULLIS_TOKEN_EXPIRATION?)"
	if !strings.Contains(errOut.String(), want) {
		t.Fatalf("stderr:\n%s\nwant %q", errOut.String(), want)
	}
}

// The configuration keys generate prints is pasted into the registry's
// config.yml, which is read from another directory: paths are absolute
// even when the flags were relative.
func TestKeysGeneratePrintsAbsolutePaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	out, err := runKeysCLI(t, "--data-dir", dir, "keys", "generate", "--out-key", "new/k2.key", "--out-cert", "new/k2.crt")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"rootcertbundle: " + filepath.Join(dir, "new", "k2.crt") + "\n",
		"- key: " + filepath.Join(dir, "new", "k2.key") + "\n",
		"cert: " + filepath.Join(dir, "new", "k2.crt") + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
