package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/apigw"
)

func runAPIKeyCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &App{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	defer a.Close()
	root := NewRoot(a)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

var apiKeyLine = regexp.MustCompile(`(?m)^  key: +([0-9a-f]{64})$`)

func verifyToken(t *testing.T, tok, secret string) *apigw.Token {
	t.Helper()
	// The lifetime cap is the gateway's business; here only the signature.
	pt, err := apigw.ParseToken(strings.TrimSpace(tok))
	if err != nil {
		t.Fatalf("token %q: %v", tok, err)
	}
	v := &apigw.Verifier{Skew: 5 * time.Second}
	if err := v.Verify(pt, []byte(secret)); err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	return pt
}

func TestAPIKeyLifecycle(t *testing.T) {
	dir := t.TempDir()
	d := "--data-dir=" + dir
	// A keys file with cyphernode's 000..002 makes the next id 003.
	if err := os.MkdirAll(filepath.Join(dir, "apigw"), 0o700); err != nil {
		t.Fatal(err)
	}
	file := "key000=" + strings.Repeat("a", 64) + "\nkey002=" + strings.Repeat("b", 64) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "apigw", "keys.properties"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}

	out, _, err := runAPIKeyCLI(t, "", d, "apikey", "create", "--groups", "stats,watcher")
	if err != nil {
		t.Fatal(err)
	}
	m := apiKeyLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Created API key 003\n") || !strings.Contains(out, "  groups: stats,watcher\n") {
		t.Fatalf("create output:\n%s", out)
	}
	secret := m[1]

	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "create", "--id", "003"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "create", "--id", "002"); err == nil || !strings.Contains(err.Error(), "keys.properties") {
		t.Fatalf("id of a file key: %v", err)
	}
	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "create", "--id", "a/b"); err == nil {
		t.Fatal("bad id accepted")
	}

	out, _, err = runAPIKeyCLI(t, "", d, "apikey", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^003 +stats,watcher +store +\d{4}-`).MatchString(out) || !regexp.MustCompile(`(?m)^000 +file`).MatchString(out) || strings.Contains(out, secret) {
		t.Fatalf("list output:\n%s", out)
	}

	out, _, err = runAPIKeyCLI(t, "", d, "apikey", "sign", "--id", "003", "--key", secret)
	if err != nil {
		t.Fatal(err)
	}
	pt := verifyToken(t, out, secret)
	if pt.ID != "003" || pt.Exp < time.Now().Unix()+8 || pt.Exp > time.Now().Unix()+11 {
		t.Fatalf("token id %s exp %d", pt.ID, pt.Exp)
	}
	out, stderr, err := runAPIKeyCLI(t, secret+"\n", d, "apikey", "sign", "--id", "003", "--key", "-", "--ttl", "2m")
	if err != nil {
		t.Fatal(err)
	}
	if pt := verifyToken(t, out, secret); pt.Exp < time.Now().Unix()+110 {
		t.Fatalf("--ttl 2m gave exp %d", pt.Exp)
	}
	if !strings.Contains(stderr, "max_lifetime") {
		t.Fatalf("no warning about the lifetime cap: %q", stderr)
	}
	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "sign", "--id", "003", "--key", "nothex"); err == nil {
		t.Fatal("bad key accepted")
	}

	if out, _, err = runAPIKeyCLI(t, "", d, "apikey", "revoke", "003"); err != nil || !strings.Contains(out, "Revoked API key 003") {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if _, _, err = runAPIKeyCLI(t, "", d, "apikey", "revoke", "003"); err == nil || !strings.Contains(err.Error(), "no key 003") {
		t.Fatalf("second revoke: %v", err)
	}
	if _, _, err = runAPIKeyCLI(t, "", d, "apikey", "revoke", "000"); err == nil || !strings.Contains(err.Error(), "remove its line") {
		t.Fatalf("revoke of a file key: %v", err)
	}
	if out, _, _ = runAPIKeyCLI(t, "", d, "apikey", "list"); strings.Contains(out, "003") {
		t.Fatalf("revoked key still listed:\n%s", out)
	}
}
