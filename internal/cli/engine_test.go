package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/engine"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
	"github.com/portcullis/portcullis/internal/testenv"
	"go.yaml.in/yaml/v3"
)

var tokenInOutput = regexp.MustCompile(`pce_[0-9A-Za-z]{43}`)

// oneToken returns the single token an output shows, failing when it
// shows none or two different ones.
func oneToken(t *testing.T, out string) string {
	t.Helper()
	all := tokenInOutput.FindAllString(out, -1)
	if len(all) == 0 {
		t.Fatalf("no token in output:\n%s", out)
	}
	for _, s := range all[1:] {
		if s != all[0] {
			t.Fatalf("two different tokens in output:\n%s", out)
		}
	}
	if !engine.LooksLikeToken(all[0]) {
		t.Fatalf("%q does not look like a token", all[0])
	}
	return all[0]
}

// engineToken reads a token back from the data dir's store by secret.
func engineToken(t *testing.T, dataDir, secret string) (store.EngineToken, error) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "portcullis.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return st.GetEngineTokenByHash(context.Background(), engine.HashToken(secret))
}

func TestEngineInit(t *testing.T) {
	dir := t.TempDir()
	out, err := runKeysCLI(t, "--data-dir", dir, "engine", "init", "--host", "GW.example.com", "--ip", "127.0.0.1", "--ip", "::1", "--port", "2443")
	if err != nil {
		t.Fatal(err)
	}
	secret := oneToken(t, out)
	tok, err := engineToken(t, dir, secret)
	if err != nil {
		t.Fatalf("the printed token is not in the store: %v", err)
	}
	if tok.Name != "admin" || tok.Policy != "full" || !tok.ExpiresAt.IsZero() {
		t.Fatalf("stored token %+v", tok)
	}
	ca := filepath.Join(dir, "engine", "ca.pem")
	for _, want := range []string{
		`docker context create portcullis --docker "host=tcp://gw.example.com:2443,ca=` + ca + `"`,
		`"Authorization": "Bearer ` + secret + `"`,
		"  engine:\n    enabled: true\n    addr: \":2443\"\n",
		"tls_cert: " + filepath.Join(dir, "engine", "cert.pem"),
		"-v /var/run/docker.sock:/var/run/docker.sock",
		"-v " + dir + ":/data",
		"-p 2443:2376",
		"docker service create --name portcullis-engine",
		"--mount type=bind,src=/var/run/docker.sock,dst=/var/run/docker.sock",
		"docker stack deploy -c " + filepath.Join(dir, "engine", "stack.yml"),
		"rotated (portcullis engine token rotate admin), not recovered",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The HttpHeaders snippet is valid JSON as printed.
	start := strings.Index(out, "  {\n")
	end := strings.Index(out[start:], "\n  }\n")
	var snippet struct{ HttpHeaders map[string]string }
	if err := json.Unmarshal([]byte(out[start:start+end+4]), &snippet); err != nil || snippet.HttpHeaders["Authorization"] != "Bearer "+secret {
		t.Fatalf("HttpHeaders snippet: %v %+v", err, snippet)
	}

	// The certificate is valid for every name given, against ca.pem.
	caPEM, _ := os.ReadFile(ca)
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "engine", "cert.pem"), filepath.Join(dir, "engine", "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, h := range []string{"gw.example.com", "127.0.0.1", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: h}); err != nil {
			t.Errorf("certificate for %s: %v", h, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "engine", "key.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("key.pem mode %v", fi.Mode().Perm())
	}

	// The stack file is YAML with the socket mounted.
	var stack struct {
		Services map[string]struct {
			Image   string
			Volumes []struct{ Source, Target string }
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "engine", "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &stack); err != nil || len(stack.Services["engine"].Volumes) != 2 ||
		stack.Services["engine"].Volumes[0].Target != "/var/run/docker.sock" {
		t.Fatalf("stack file: %v\n%s", err, b)
	}

	// The secret is nowhere on disk.
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the token", p)
			}
		}
		return nil
	})

	// A second init neither replaces the certificate nor makes a token.
	if _, err := runKeysCLI(t, "--data-dir", dir, "engine", "init", "--host", "gw.example.com"); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second init: %v", err)
	}
	if _, err := runKeysCLI(t, "--data-dir", dir, "engine", "init", "--force", "--host", "gw.example.com"); err == nil || !strings.Contains(err.Error(), `"admin" exists`) {
		t.Fatalf("init with an existing token name: %v", err)
	}
	if b2, _ := os.ReadFile(ca); !bytes.Equal(b2, caPEM) {
		t.Fatal("a refused init replaced the CA")
	}
	// --force --no-token makes a new certificate (more names), no token.
	out, err = runKeysCLI(t, "--data-dir", dir, "engine", "init", "--force", "--no-token", "--host", "gw.example.com", "--host", "gw2.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if tokenInOutput.MatchString(out) || !strings.Contains(out, "No token made") {
		t.Fatalf("init --no-token output:\n%s", out)
	}
	if b2, _ := os.ReadFile(ca); bytes.Equal(b2, caPEM) {
		t.Fatal("init --force kept the old CA")
	}
	if _, err := engineToken(t, dir, secret); err != nil {
		t.Fatalf("init --force --no-token touched the first token: %v", err)
	}
	for _, args := range [][]string{
		{"--host", "10.0.0.1"},
		{"--ip", "gw.example.com"},
		{"--port", "99999"},
		{"--expires", "soon"},
		{"--policy", "nope"},
		{"--name", "bad name"},
	} {
		d2 := t.TempDir()
		if _, err := runKeysCLI(t, append([]string{"--data-dir", d2, "engine", "init"}, args...)...); err == nil {
			t.Errorf("engine init %v succeeded", args)
		}
		// Nothing was written: the corrected command needs no --force.
		if _, err := os.Stat(filepath.Join(d2, "engine", "ca.pem")); err == nil {
			t.Errorf("engine init %v failed but wrote a certificate", args)
		}
	}
}

func TestEngineTokenCommands(t *testing.T) {
	dir := t.TempDir()
	cli := func(args ...string) (string, error) {
		return runKeysCLI(t, append([]string{"--data-dir", dir, "engine", "token"}, args...)...)
	}
	out, err := cli("create", "--name", "ci", "--policy", "read-only", "--expires", "30d")
	if err != nil {
		t.Fatal(err)
	}
	first := oneToken(t, out)
	if !strings.Contains(out, "not recovered") {
		t.Errorf("create does not say the token is shown once:\n%s", out)
	}
	tok, err := engineToken(t, dir, first)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Policy != "read-only" || time.Until(tok.ExpiresAt) < 29*24*time.Hour || time.Until(tok.ExpiresAt) > 31*24*time.Hour {
		t.Fatalf("stored %+v", tok)
	}
	if _, err := cli("create", "--name", "ci"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := cli("create", "--name", "x", "--policy", "root"); err == nil || !strings.Contains(err.Error(), `unknown policy "root"`) {
		t.Fatalf("unknown policy: %v", err)
	}
	if _, err := cli("create", "--name", "bad name"); err == nil {
		t.Fatal("a name with a space was accepted")
	}
	if _, err := cli("create"); err == nil {
		t.Fatal("create without --name succeeded")
	}
	if _, err := cli("create", "--name", "short", "--expires", "1h"); err != nil {
		t.Fatal(err)
	}

	out, err = cli("list")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^ci +read-only +\S+ +\S+ +never$`).MatchString(out) || !strings.Contains(out, "short") || strings.Contains(out, "pce_") {
		t.Fatalf("list:\n%s", out)
	}

	out, err = cli("rotate", "ci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "refuses the old secret within 1s (engine.token_cache_ttl)") {
		t.Errorf("rotate does not say when the old secret stops working:\n%s", out)
	}
	second := oneToken(t, out)
	if second == first {
		t.Fatal("rotate printed the same token")
	}
	if _, err := engineToken(t, dir, first); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the rotated-out token still resolves: %v", err)
	}
	if got, err := engineToken(t, dir, second); err != nil || got.Policy != "read-only" || !got.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("rotated token %+v %v; policy and expiry must stay", got, err)
	}
	if _, err := cli("rotate", "nobody"); err == nil || !strings.Contains(err.Error(), `no engine token named "nobody"`) {
		t.Fatalf("rotate unknown: %v", err)
	}

	if out, err := cli("revoke", "ci"); err != nil || !strings.Contains(out, `Revoked engine token "ci"; a running gateway refuses it within 1s (engine.token_cache_ttl)`) {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if _, err := engineToken(t, dir, second); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked token still resolves: %v", err)
	}
	if _, err := cli("revoke", "ci"); err == nil {
		t.Fatal("revoking twice succeeded")
	}
	if out, _ := cli("list"); strings.Contains(out, "ci ") {
		t.Fatalf("revoked token listed:\n%s", out)
	}
}

// TestEngineInitAgainstGateway follows what `engine init` prints: the
// docker context line and the HttpHeaders snippet, against a gateway on
// the certificate init made, in front of a real dockerd. Tokens made,
// and revoked, by the CLI take effect on the running gateway.
func TestEngineInitAgainstGateway(t *testing.T) {
	testenv.Integration(t)
	d := testenv.StartDockerd(t, testenv.DockerdOptions{Private: true})
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	out, err := runKeysCLI(t, "--data-dir", dir, "engine", "init", "--ip", "127.0.0.1", "--port", port)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	secret := oneToken(t, out)

	cfg, err := config.Parse(nil, dir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ec := cfg.Engine
	ec.Enabled, ec.Upstream, ec.TokenEnv = true, d.Host, "-"
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "portcullis.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g, err := engine.New(ec, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	// The client follows the printed instructions in its own DOCKER_CONFIG.
	m := regexp.MustCompile(`(?m)^  (docker context create .*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no context line:\n%s", out)
	}
	docker := func(configJSON string, args ...string) (string, error) {
		t.Helper()
		cdir := t.TempDir()
		if err := os.WriteFile(filepath.Join(cdir, "config.json"), []byte(configJSON), 0o600); err != nil {
			t.Fatal(err)
		}
		env := append(testenv.CleanDockerEnv(), "DOCKER_CONFIG="+cdir)
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		create := exec.CommandContext(cctx, "sh", "-c", m[1])
		create.Env = env
		if b, err := create.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", m[1], err, b)
		}
		cmd := exec.CommandContext(cctx, "docker", append([]string{"--context", "portcullis"}, args...)...)
		cmd.Env = env
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	headers := func(tok string) string {
		return fmt.Sprintf(`{"HttpHeaders": {"Authorization": "Bearer %s"}}`, tok)
	}
	if out, err := docker(headers(secret), "version", "--format", "{{.Server.Os}}"); err != nil || strings.TrimSpace(out) != "linux" {
		t.Fatalf("docker version with the init token: %v\n%s", err, out)
	}
	if out, err := docker(`{}`, "ps"); err == nil || !strings.Contains(out, "missing token") {
		t.Fatalf("docker ps without a token: %v\n%s", err, out)
	}

	// engine connect: the same gateway through a local socket, for clients
	// that send no HttpHeaders; the token comes from a file.
	hm := regexp.MustCompile(`host=([^,]+),ca=([^"]+)"`).FindStringSubmatch(m[1])
	if hm == nil {
		t.Fatalf("no host and ca in %q", m[1])
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sockDir, err := os.MkdirTemp("", "pcc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	sock := filepath.Join(sockDir, "engine.sock")
	var connOut testenv.Buffer
	ca := &App{Stdin: strings.NewReader(""), Stdout: &connOut, Stderr: &connOut}
	croot := NewRoot(ca)
	croot.SetArgs([]string{"engine", "connect", "--host", hm[1], "--tlscacert", hm[2], "--token-file", tokFile, "--socket", sock})
	cctx, ccancel := context.WithCancel(context.Background())
	cdone := make(chan error, 1)
	go func() { cdone <- croot.ExecuteContext(cctx) }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(connOut.String(), "export DOCKER_HOST=unix://"+sock); {
		if time.Now().After(deadline) {
			t.Fatalf("engine connect did not start:\n%s", connOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	onSocket := exec.Command("docker", "version", "--format", "{{.Server.Os}}")
	onSocket.Env = append(testenv.CleanDockerEnv(), "DOCKER_HOST=unix://"+sock, "DOCKER_CONFIG="+t.TempDir())
	if b, err := onSocket.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != "linux" {
		t.Fatalf("docker version through engine connect: %v\n%s", err, b)
	}
	ccancel()
	if err := <-cdone; err != nil {
		t.Fatalf("engine connect: %v", err)
	}
	ca.Close()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket left behind after engine connect stopped: %v", err)
	}
	// A wrong token is refused before the socket is made.
	if err := os.WriteFile(tokFile, []byte("pce_wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runKeysCLI(t, "engine", "connect", "--host", hm[1], "--tlscacert", hm[2], "--token-file", tokFile, "--socket", sock); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("engine connect with a wrong token: %v", err)
	}

	out, err = runKeysCLI(t, "--data-dir", dir, "engine", "token", "create", "--name", "viewer", "--policy", "read-only")
	if err != nil {
		t.Fatal(err)
	}
	viewer := oneToken(t, out)
	if out, err := docker(headers(viewer), "ps"); err != nil {
		t.Fatalf("read-only ps: %v\n%s", err, out)
	}
	if out, err := docker(headers(viewer), "volume", "create"); err == nil || !strings.Contains(out, `token "viewer" may not POST`) {
		t.Fatalf("read-only volume create: %v\n%s", err, out)
	}
	if _, err := runKeysCLI(t, "--data-dir", dir, "engine", "token", "revoke", "viewer"); err != nil {
		t.Fatal(err)
	}
	// The gateway trusts a token it found for engine.token_cache_ttl (1s).
	revoked := time.Now()
	for {
		out, err := docker(headers(viewer), "ps")
		if err != nil && strings.Contains(out, "invalid token") {
			break
		}
		if time.Since(revoked) > 3*time.Second {
			t.Fatalf("revoked token still works after 3s: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A named policy lives in a config file; run without one (the embedded
// default), the refusal says where policies come from.
func TestEngineUnknownPolicyWithoutConfigNamesTheFlag(t *testing.T) {
	t.Setenv("PORTCULLIS_CONFIG", "")
	dir := t.TempDir()
	for _, args := range [][]string{
		{"engine", "token", "create", "--name", "ci", "--policy", "ci"},
		{"engine", "init", "--host", "localhost", "--policy", "ci"},
	} {
		_, err := runKeysCLI(t, append([]string{"--data-dir", dir}, args...)...)
		if err == nil || !strings.Contains(err.Error(), `unknown policy "ci"`) || !strings.Contains(err.Error(), "--config") {
			t.Errorf("%v without a config file: %v", args, err)
		}
	}
	conf := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(conf, []byte("engine:\n  policies: {ci: {allow: {containers: [read]}}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := runKeysCLI(t, "--data-dir", dir, "--config", conf, "engine", "token", "create", "--name", "x", "--policy", "nope")
	if err == nil || strings.Contains(err.Error(), "--config") || !strings.Contains(err.Error(), "full, read-only, ci") {
		t.Errorf("with a config file: %v", err)
	}
}

// engine init's "then: portcullis serve --config F" names a file that the
// printed lines say how to make.
func TestEngineInitNamesTheConfigFile(t *testing.T) {
	t.Setenv("PORTCULLIS_CONFIG", "")
	dir := t.TempDir()
	out, err := runKeysCLI(t, "--data-dir", dir, "engine", "init", "--host", "localhost", "--no-token")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Save this as portcullis.yaml") || !strings.Contains(out, "then: portcullis serve --config portcullis.yaml") {
		t.Errorf("without a config file:\n%s", out)
	}
	conf := filepath.Join(t.TempDir(), "gw.yaml")
	if err := os.WriteFile(conf, []byte("log: {level: info}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runKeysCLI(t, "--data-dir", t.TempDir(), "--config", conf, "engine", "init", "--host", "localhost", "--no-token")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Add this to "+conf) || !strings.Contains(out, "then: portcullis serve --config "+conf) {
		t.Errorf("with --config %s:\n%s", conf, out)
	}
}
