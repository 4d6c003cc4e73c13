package apigw

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestReloadIgnoresHalfWrittenFile: an editor that rewrites the keys file
// in place (truncate, then write) leaves it empty for a moment; the
// watcher must not load that moment as "no keys" and refuse every client.
func TestReloadIgnoresHalfWrittenFile(t *testing.T) {
	testenv.Integration(t)
	up := newUpstream(t)
	dir := t.TempDir()
	full := "key001=" + seedKey001 + "\n"
	g := startGW(t, gwOpts{yaml: "keys_reload_interval: 200ms\n" + seedRouteYAML, keys: full, upstream: up.URL, dir: dir})
	kf := filepath.Join(dir, "keys.properties")
	for range 25 {
		if err := os.Truncate(kf, 0); err != nil {
			t.Fatal(err)
		}
		// Empty for far less than a check interval: under load the
		// moment may stretch, but not to two checks.
		time.Sleep(30 * time.Millisecond)
		if err := os.WriteFile(kf, []byte(full), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(143 * time.Millisecond) // not a divisor of the interval: the checks drift over the moments
	}
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(g.logs.String(), `"keys":0`) {
		t.Fatalf("an empty moment of the keys file was loaded:\n%s", g.logs.String())
	}
	g.do(t, "GET", "/x", fresh("001", seedKey001, 10*time.Second)).want(t, 200, "")
}
