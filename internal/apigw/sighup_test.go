package apigw_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/apigw"
	"github.com/portcullis/portcullis/internal/cli"
	"github.com/portcullis/portcullis/internal/testenv"
)

// sighupChildEnv tells a re-executed test binary to run `portcullis
// serve` with the config file it names.
const sighupChildEnv = "PORTCULLIS_APIGW_SIGHUP_CONFIG"

// TestSIGHUPServeChild is the child of TestKeysFileSIGHUP: the real
// `portcullis serve` in a process of its own, so it can get signals.
func TestSIGHUPServeChild(t *testing.T) {
	path := os.Getenv(sighupChildEnv)
	if path == "" {
		t.Skip("only run as the child of TestKeysFileSIGHUP")
	}
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

// TestKeysFileSIGHUP runs `portcullis serve` with the API-key gateway and
// a keys file that is never polled (keys_reload_interval: 1h): SIGHUP
// alone reloads it. Both formats are taken; a key removed is refused on
// the first request after the reload; a broken file keeps the keys and
// logs an error naming the line, never a secret.
func TestKeysFileSIGHUP(t *testing.T) {
	testenv.Integration(t)
	if testing.Short() {
		t.Skip("runs portcullis serve as a child process")
	}
	const (
		k1 = "2df1eeea370eacdc5cf7e96c2d82140d1568079a5d4d87006ec8718a98883b36"
		k2 = "50c5e483b80964595508f214229b014aa6c013594d57d38bcb841093a39f1d83"
		k3 = "a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f"
	)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("X-Portcullis-Key-Id")+" "+r.Header.Get("X-Portcullis-Key-Groups"))
	}))
	defer up.Close()
	dir := t.TempDir()
	ca := testenv.NewCA(t, "portcullis sighup CA")
	ca.Issue(t, "localhost", "localhost", "127.0.0.1").WriteFiles(t, dir, "tls")
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys.properties")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(keys, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("key001=" + k1 + "\n")
	gwAddr := testenv.Addr(testenv.FreePort(t))
	yaml := fmt.Sprintf(`data_dir: %s
server:
  addr: 127.0.0.1:%d
authn:
  bcrypt_cost: 4
  chain:
    - type: htpasswd
      path: %s
store:
  type: sqlite
api_gateway:
  enabled: true
  insecure_http: true
  addr: %s
  keys_file: %s
  keys_reload_interval: 1h
  routes:
    - prefix: /
      upstream: %s
`, dir, testenv.FreePort(t), htpasswd, gwAddr, keys, up.URL)
	cfgPath := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGHUPServeChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), sighupChildEnv+"="+cfgPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		if t.Failed() {
			t.Logf("portcullis output:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := testenv.WaitTCP(ctx, gwAddr, 30*time.Second); err != nil {
		t.Fatalf("the gateway did not listen: %v", err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(id, secret string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+gwAddr+"/x", nil)
		req.Header.Set("Authorization", "Bearer "+apigw.Sign(id, secret, time.Now().Add(10*time.Second)))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			var r struct{ Reason string }
			_ = json.Unmarshal(b, &r)
			return resp.StatusCode, r.Reason
		}
		return resp.StatusCode, string(b)
	}
	want := func(id, secret string, status int, what string) {
		t.Helper()
		if st, got := call(id, secret); st != status || got != what {
			t.Fatalf("key %s: got %d %q, want %d %q", id, st, got, status, what)
		}
	}
	// hup signals the server and waits until it has logged the reload.
	reloads := 0
	hup := func(done string) {
		t.Helper()
		reloads++
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(logs.String(), done) < reloads {
			if time.Now().After(deadline) {
				t.Fatalf("no %q after SIGHUP", done)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	const reloaded = "SIGHUP: reloading"

	want("001", k1, 200, "001 ")
	want("002", k2, 401, "unknown_key")

	// Both formats; 001 removed.
	write("key002=" + k2 + "\n" + `kapi_id="003";kapi_key="` + k3 + `";kapi_groups="stats,watcher";eval ugroups_${kapi_id}=${kapi_groups};eval ukey_${kapi_id}=${kapi_key}` + "\n")
	want("002", k2, 401, "unknown_key") // not polled: nothing yet
	hup(reloaded)
	waitLog(t, logs, `API keys loaded`, 2)
	want("002", k2, 200, "002 ")
	want("003", k3, 200, "003 stats,watcher")
	want("001", k1, 401, "unknown_key")

	// Broken at line 2: the keys stay, the error names the line.
	write("key002=" + k2 + "\nkey004=" + k1[:40] + "zz\n")
	hup(reloaded)
	waitLog(t, logs, "reloading API keys failed", 1)
	out := logs.String()
	if !strings.Contains(out, "line 2") {
		t.Fatalf("the reload error does not name line 2:\n%s", out)
	}
	for _, k := range []string{k1, k2, k3} {
		if strings.Contains(out, k[:16]) {
			t.Fatal("the log shows a secret")
		}
	}
	want("002", k2, 200, "002 ")
	want("003", k3, 200, "003 stats,watcher")
}

// waitLog waits until s appears n times in the output.
func waitLog(t *testing.T, logs *testenv.Buffer, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q not logged %d times", s, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
