package apigw

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestBrokenKeysFileOnChange: a keys file that stops parsing is reported
// once per change (naming the line, never a secret), the keys already
// loaded keep working, and the next good version is taken.
func TestBrokenKeysFileOnChange(t *testing.T) {
	testenv.Integration(t)
	up := newUpstream(t)
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.properties")
	g := startGW(t, gwOpts{yaml: "keys_reload_interval: 20ms\n" + seedRouteYAML, keys: "key001=" + seedKey001 + "\n", upstream: up.URL, dir: dir})
	g.do(t, "GET", "/x", fresh("001", seedKey001, 10*time.Second)).want(t, 200, "")

	// Line 3 holds a secret with a character that is not hex; line 2 a good new key.
	broken := "# keys\nkey002=" + seedKey002 + "\n" + `kapi_id="003";kapi_key="` + seedKey002[:63] + `g";kapi_groups="stats"` + "\n"
	if err := os.WriteFile(kf, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // twenty checks
	logs := g.logs.String()
	if n := strings.Count(logs, "reloading API keys failed"); n != 1 {
		t.Fatalf("the broken file was reported %d times, want once:\n%s", n, tail(logs, 3000))
	}
	if !strings.Contains(logs, "line 3") {
		t.Fatalf("the error does not name line 3:\n%s", tail(logs, 3000))
	}
	if strings.Contains(logs, seedKey002[:16]) || strings.Contains(logs, seedKey001[:16]) {
		t.Fatal("the log shows a secret")
	}
	g.do(t, "GET", "/x", fresh("001", seedKey001, 10*time.Second)).want(t, 200, "")
	g.do(t, "GET", "/x", fresh("002", seedKey002, 10*time.Second)).want(t, 401, ReasonUnknownKey)

	// Fixed: taken at the next check; 001 is gone at once.
	fixed := "key002=" + seedKey002 + "\n" + `kapi_id="003";kapi_key="` + seedKey002 + `";kapi_groups="stats"` + "\n"
	if err := os.WriteFile(kf, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for g.do(t, "GET", "/x", fresh("003", seedKey002, 10*time.Second)).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the fixed file was never taken")
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.do(t, "GET", "/x", fresh("001", seedKey001, 10*time.Second)).want(t, 401, ReasonUnknownKey)
}

// TestKeysFileLongLine: a line beyond the line bound is refused naming it.
func TestKeysFileLongLine(t *testing.T) {
	data := "key001=" + seedKey001 + "\n# " + strings.Repeat("x", 70<<10) + "\n"
	_, err := ParseKeyFile([]byte(data))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got %v, want an error naming line 2", err)
	}
	_, err = ParseAPIProperties([]byte("action_a=b\n\naction_c=" + strings.Repeat("x", 70<<10) + "\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("api.properties: got %v, want an error naming line 3", err)
	}
}

// TestKeysFileModeWarning: a keys file others can read is loaded, with a
// warning saying so (it holds every client's secret).
func TestKeysFileModeWarning(t *testing.T) {
	testenv.Integration(t)
	up := newUpstream(t)
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.properties")
	if err := os.WriteFile(kf, []byte("key001="+seedKey001+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(kf, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	g := startGW(t, gwOpts{yaml: seedRouteYAML, upstream: up.URL, dir: dir})
	g.do(t, "GET", "/x", fresh("001", seedKey001, 10*time.Second)).want(t, 200, "")
	if logs := g.logs.String(); !strings.Contains(logs, "chmod 600") || !strings.Contains(logs, `"mode":"-rw-r--r--"`) {
		t.Fatalf("no warning about a keys file others can read:\n%s", tail(logs, 2000))
	}
	if err := os.Chmod(kf, 0o600); err != nil {
		t.Fatal(err)
	}
	before := strings.Count(g.logs.String(), "chmod 600")
	if err := g.gw.Reload(); err != nil {
		t.Fatal(err)
	}
	if strings.Count(g.logs.String(), "chmod 600") != before {
		t.Fatal("warned about a 0600 keys file")
	}
}
