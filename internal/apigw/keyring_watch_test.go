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
	g := startGW(t, gwOpts{yaml: "keys_reload_interval: 800ms\n" + seedRouteYAML, keys: full, upstream: up.URL, dir: dir})
	kf := filepath.Join(dir, "keys.properties")
	for range 16 {
		if err := os.Truncate(kf, 0); err != nil {
			t.Fatal(err)
		}
		// Empty for a seventh of a check interval: a check often lands
		// in it (the old watcher loaded it), and even a loaded machine
		// does not stretch it to span two checks.
		time.Sleep(120 * time.Millisecond)
		if err := os.WriteFile(kf, []byte(full), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(313 * time.Millisecond) // not a divisor of the interval: the checks drift over the moments
	}
	time.Sleep(2 * time.Second) // two checks
	if strings.Contains(g.logs.String(), `"keys":0`) {
		t.Fatalf("an empty moment of the keys file was loaded:\n%s", g.logs.String())
	}
	g.do(t, "GET", "/x", fresh("001", seedKey001, 10*time.Second)).want(t, 200, "")
}
