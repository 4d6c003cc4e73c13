package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis/portcullis/internal/authn/apptoken"
	"github.com/portcullis/portcullis/internal/cli"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
	"github.com/portcullis/portcullis/internal/testenv"
)

// apiCall sends a JSON API request with Basic credentials and returns the
// status and body.
func (in *instance) apiCall(t *testing.T, method, path, user, pass, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, in.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := in.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// apiToken creates an app token for user over the API with their
// password and returns the secret.
func (in *instance) apiToken(t *testing.T, user, pass, body string) string {
	t.Helper()
	st, b := in.apiCall(t, "POST", "/api/v1/apptokens", user, pass, body)
	if st != http.StatusCreated {
		t.Fatalf("create app token for %s: %d %s", user, st, b)
	}
	var c struct{ Token string }
	if err := json.Unmarshal(b, &c); err != nil || !apptoken.LooksLike(c.Token) {
		t.Fatalf("create app token: %s (%v)", b, err)
	}
	return c.Token
}

// cliConfig writes a config file through which the portcullis CLI uses
// the same store as in.
func (in *instance) cliConfig(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %s\nauthn:\n  bcrypt_cost: 4\n", in.dataDir)
	switch s := in.cfg.Store; s.Type {
	case "postgres":
		fmt.Fprintf(&b, "store:\n  type: postgres\n  dsn: %q\n", s.DSN)
	default:
		fmt.Fprintf(&b, "store:\n  type: sqlite\n  path: %s\n", s.Path)
	}
	fmt.Fprintf(&b, "app_tokens:\n  max_per_user: %d\n", in.cfg.AppTokens.MaxPerUser)
	p := filepath.Join(t.TempDir(), "cli.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// portcullis runs the CLI against in's store: stdout, stderr, error.
func (in *instance) portcullis(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &cli.App{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	defer a.Close()
	root := cli.NewRoot(a)
	root.SetArgs(append([]string{"--config", in.cliConfig(t)}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func (in *instance) mustPortcullis(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := in.portcullis(t, stdin, args...)
	if err != nil {
		t.Fatalf("portcullis %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// TestAppTokensWithRegistry uses app tokens as passwords of real registry
// clients against a real registry.
func TestAppTokensWithRegistry(t *testing.T) {
	testenv.Integration(t)
	in := startPortcullis(t, publicACL)
	reg := in.registry(t, testenv.RegistryV3, false)
	alicePW := testUsers["alice"]

	// Created over the API with the password; pushed with the token.
	full := in.apiToken(t, "alice", alicePW, `{"name":"laptop","expires":"90d"}`)
	img, err := pushRandom(t, in, reg.Host+"/alice/app:v1", "alice", full)
	if err != nil {
		t.Fatalf("push with an app token: %v", err)
	}
	ref, _ := name.ParseReference(reg.Host + "/alice/app:v1")
	got, err := remote.Image(ref, in.remoteOpts("alice", full)...)
	if err != nil {
		t.Fatalf("pull with an app token: %v", err)
	}
	if a, b := mustDigest(t, img), mustDigest(t, got); a != b {
		t.Fatalf("pulled %s, pushed %s", b, a)
	}
	// Only for its own user.
	if _, err := pushRandom(t, in, reg.Host+"/bob/app:v1", "bob", full); !isDenied(err) {
		t.Fatalf("alice's token as bob's password: want denied, got %v", err)
	}

	t.Run("pull-only token cannot push", func(t *testing.T) {
		pull := strings.TrimSpace(in.mustPortcullis(t, "", "apptoken", "create", "--user", "alice", "--name", "pull-only", "--scope", "repository:alice/**:pull"))
		if _, err := remote.Image(ref, in.remoteOpts("alice", pull)...); err != nil {
			t.Fatalf("pull with a pull-only token: %v", err)
		}
		if _, err := pushRandom(t, in, reg.Host+"/alice/app:v2", "alice", pull); !isDenied(err) {
			t.Fatalf("push with a pull-only token: want denied, got %v", err)
		}
		// The password still can.
		if _, err := pushRandom(t, in, reg.Host+"/alice/app:v2", "alice", alicePW); err != nil {
			t.Fatalf("push with the password: %v", err)
		}
	})

	t.Run("sixth token refused", func(t *testing.T) {
		for _, n := range []string{"t3", "t4", "t5"} {
			in.apiToken(t, "alice", alicePW, `{"name":"`+n+`"}`)
		}
		st, body := in.apiCall(t, "POST", "/api/v1/apptokens", "alice", alicePW, `{"name":"t6"}`)
		if st != http.StatusConflict || !strings.Contains(string(body), "limit_reached") || !strings.Contains(string(body), "5 app tokens, the maximum") {
			t.Fatalf("sixth over the API: %d %s", st, body)
		}
		_, _, err := in.portcullis(t, "", "apptoken", "create", "--user", "alice", "--name", "t6")
		if err == nil || !strings.Contains(err.Error(), "already has 5 app tokens") || !strings.Contains(err.Error(), "apptoken revoke --user alice") {
			t.Fatalf("sixth from the CLI: %v", err)
		}
		for _, n := range []string{"t3", "t4", "t5"} {
			in.mustPortcullis(t, "", "apptoken", "revoke", "--user", "alice", n)
		}
	})

	t.Run("revoked token refused", func(t *testing.T) {
		tok := in.apiToken(t, "alice", alicePW, `{"name":"short-lived"}`)
		if _, err := pushRandom(t, in, reg.Host+"/alice/rev:1", "alice", tok); err != nil {
			t.Fatalf("push before revocation: %v", err)
		}
		if st, b := in.apiCall(t, "DELETE", "/api/v1/apptokens/short-lived", "alice", alicePW, ""); st != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", st, b)
		}
		if _, err := pushRandom(t, in, reg.Host+"/alice/rev:2", "alice", tok); !isDenied(err) {
			t.Fatalf("push with a revoked token: want denied, got %v", err)
		}
		if _, err := remote.Image(ref, in.remoteOpts("alice", tok)...); !isDenied(err) {
			t.Fatalf("pull with a revoked token: want denied, got %v", err)
		}
	})

	t.Run("expired token refused", func(t *testing.T) {
		tok := strings.TrimSpace(in.mustPortcullis(t, "", "apptoken", "create", "--user", "alice", "--name", "two-seconds", "--expires", "2s"))
		start := time.Now()
		if _, err := remote.Image(ref, in.remoteOpts("alice", tok)...); err != nil {
			if time.Since(start) < 2*time.Second {
				t.Fatalf("pull before expiry: %v", err)
			}
		}
		time.Sleep(time.Until(start.Add(2100 * time.Millisecond)))
		if _, err := remote.Image(ref, in.remoteOpts("alice", tok)...); !isDenied(err) {
			t.Fatalf("pull with an expired token: want denied, got %v", err)
		}
		out := in.mustPortcullis(t, "", "apptoken", "list", "--user", "alice")
		if !strings.Contains(out, "(expired)") {
			t.Fatalf("list does not mark the expired token:\n%s", out)
		}
	})

	t.Run("skopeo with an app token", func(t *testing.T) {
		skopeo := testenv.Require(t, "skopeo")
		certDir := t.TempDir()
		if err := os.WriteFile(filepath.Join(certDir, "ca.crt"), in.ca.CertPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(skopeo, "copy", "--src-cert-dir", certDir, "--dest-cert-dir", certDir,
			"--src-creds", "alice:"+full, "--dest-creds", "alice:"+full,
			"docker://"+reg.Host+"/alice/app:v1", "docker://"+reg.Host+"/alice/skopeo:v1")
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy with an app token: %v\n%s", err, out)
		}
	})

	t.Run("last use is recorded", func(t *testing.T) {
		ctx := context.Background()
		toks, err := in.srv.Store().ListAppTokens(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		// Last use is flushed in the background every 10 seconds.
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			toks, _ = in.srv.Store().ListAppTokens(ctx, "alice")
			for _, tk := range toks {
				if tk.Name == "laptop" && !tk.LastUsedAt.IsZero() {
					if tk.LastUsedAddr != "127.0.0.1" {
						t.Fatalf("last used from %q", tk.LastUsedAddr)
					}
					out := in.mustPortcullis(t, "", "apptoken", "list", "--user", "alice")
					if !strings.Contains(out, "127.0.0.1") {
						t.Fatalf("list lacks the client address:\n%s", out)
					}
					return
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Fatalf("last use never recorded: %+v", toks)
	})

	if strings.Contains(in.Logs(), full) {
		t.Fatal("an app token appears in the log")
	}
}

// TestAppTokenRefusedByAdminAPI: an admin's app token works for the
// registry but not for the API, with a message that says so.
func TestAppTokenRefusedByAdminAPI(t *testing.T) {
	in := startPortcullis(t, publicACL)
	carolPW := testUsers["carol"]
	tok := in.apiToken(t, "carol", carolPW, `{"name":"ci"}`)
	wantToken(t, in, "carol", tok, "repository:anything/x:push", http.StatusOK, "push")

	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/users", ""},
		{"POST", "/api/v1/users", `{"name":"eve","password":"x","admin":true}`},
		{"GET", "/api/v1/users/alice/apptokens", ""},
		{"POST", "/api/v1/users/alice/apptokens", `{"name":"stolen"}`},
		{"GET", "/api/v1/apptokens", ""},
		{"DELETE", "/api/v1/sessions", ""},
	} {
		st, body := in.apiCall(t, c.method, c.path, "carol", tok, c.body)
		if st != http.StatusForbidden || !strings.Contains(string(body), "app_token_refused") || !strings.Contains(string(body), "app tokens cannot be used for the API") {
			t.Fatalf("%s %s with an app token: %d %s", c.method, c.path, st, body)
		}
	}
	if st, body := in.apiCall(t, "GET", "/api/v1/users", "carol", carolPW, ""); st != http.StatusOK {
		t.Fatalf("carol's password on the admin API: %d %s", st, body)
	}
	if st, body := in.apiCall(t, "GET", "/api/v1/users", "alice", testUsers["alice"], ""); st != http.StatusForbidden {
		t.Fatalf("non-admin on the admin API: %d %s", st, body)
	}
}

func mustDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// serveChildEnv tells a re-executed test binary to run `portcullis serve`
// with the config file it names, until it is killed.
const serveChildEnv = "PORTCULLIS_E2E_SERVE_CONFIG"

// TestServeChild is the child of TestKill9DuringTokenBurst: the real
// `portcullis serve`, run as its own process so that it can be killed.
func TestServeChild(t *testing.T) {
	path := os.Getenv(serveChildEnv)
	if path == "" {
		t.Skip("only run as the child of TestKill9DuringTokenBurst")
	}
	// Bounded: the parent kills the child long before this.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := &cli.App{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: os.Stderr}
	root := cli.NewRoot(a)
	root.SetArgs([]string{"serve", "--config", path})
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// TestKill9DuringTokenBurst: Portcullis on SQLite is killed with SIGKILL
// while clients create app tokens over the API as fast as they can. After
// a restart on the same data directory the store opens, every token whose
// creation was acknowledged (201 with the secret) logs in at /token, and
// every stored token is whole: one of those created, owned by its user.
func TestKill9DuringTokenBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("runs portcullis serve as a child process")
	}
	dir := t.TempDir()
	ca := testenv.NewCA(t, "portcullis crash CA")
	ca.Issue(t, "localhost", "localhost", "127.0.0.1").WriteFiles(t, dir, "tls")
	h, err := bcrypt.GenerateFromPassword([]byte(testUsers["alice"]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("alice:"+string(h)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	yaml := fmt.Sprintf(`data_dir: %s
server:
  addr: 127.0.0.1:%d
authn:
  bcrypt_cost: 4
  chain:
    - type: apptoken
    - type: htpasswd
      path: %s
app_tokens:
  max_per_user: 1000000
store:
  type: sqlite
`, dir, port, htpasswd) + publicACL
	cfgPath := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(yaml), "", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	in := &instance{cfg: cfg, ca: ca, dataDir: dir, base: base, realm: base + cfg.Token.Route,
		logs: &bytes.Buffer{}, logWriter: &syncWriter{w: io.Discard},
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}}

	start := func() *exec.Cmd {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), serveChildEnv+"="+cfgPath)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := testenv.WaitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", port), 30*time.Second); err != nil {
			t.Fatalf("portcullis serve did not listen: %v", err)
		}
		return cmd
	}

	child := start()
	// The burst: writers create tokens until the server dies under them.
	const writers = 8
	type ack struct{ name, token string }
	var (
		mu    sync.Mutex
		acked []ack
		first = make(chan struct{})
		once  sync.Once
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	stop := time.Now().Add(20 * time.Second)
	for w := range writers {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				name := fmt.Sprintf("w%d-%d", w, i)
				req, _ := http.NewRequest("POST", base+"/api/v1/apptokens", strings.NewReader(`{"name":"`+name+`"}`))
				req.Header.Set("Content-Type", "application/json")
				req.SetBasicAuth("alice", testUsers["alice"])
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
				resp.Body.Close()
				var c struct{ Token string }
				if err != nil || resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &c) != nil || !apptoken.LooksLike(c.Token) {
					continue // not acknowledged
				}
				mu.Lock()
				acked = append(acked, ack{name, c.Token})
				mu.Unlock()
				once.Do(func() { close(first) })
			}
		})
	}
	select {
	case <-first:
	case <-time.After(20 * time.Second):
		t.Fatal("no token created within 20s")
	}
	time.Sleep(500 * time.Millisecond)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if ws, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("portcullis was not killed by SIGKILL: %v", child.ProcessState)
	}
	wg.Wait()
	mu.Lock()
	got := append([]ack(nil), acked...)
	mu.Unlock()
	if len(got) < 20 {
		t.Fatalf("only %d tokens acknowledged before the kill", len(got))
	}
	t.Logf("%d tokens acknowledged before SIGKILL", len(got))

	// Restarted on the same data directory: every acknowledged token logs in.
	child = start()
	for _, a := range got {
		if st, _, body := in.tokenStatus(t, "alice", a.token, "repository:alice/app:pull"); st != http.StatusOK {
			t.Fatalf("acknowledged token %s refused after the restart: %d %s", a.name, st, body)
		}
	}
	_ = child.Process.Signal(syscall.SIGKILL)
	_ = child.Wait()

	// Every stored row is whole: a token one of the writers asked for.
	// Beyond the acknowledged ones, each writer may have had one committed
	// whose answer never arrived.
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "portcullis.db"), store.Options{})
	if err != nil {
		t.Fatalf("reopen the store: %v", err)
	}
	defer st.Close()
	all, err := st.ListAppTokens(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < len(got) || len(all) > len(got)+writers {
		t.Errorf("%d tokens stored, %d acknowledged", len(all), len(got))
	}
	byName := map[string]string{}
	for _, a := range got {
		byName[a.name] = a.token
	}
	for _, tk := range all {
		var w, i int
		if n, _ := fmt.Sscanf(tk.Name, "w%d-%d", &w, &i); n != 2 || tk.User != "alice" || len(tk.Hash) != 32 || tk.CreatedAt.IsZero() {
			t.Errorf("half-written or foreign row: %+v", tk)
		}
		if tok, ok := byName[tk.Name]; ok && !bytes.Equal(tk.Hash, apptoken.Hash(tok)) {
			t.Errorf("token %s stored with another hash", tk.Name)
		}
	}
}
