package apigw

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestAPIPropertiesAsShellReadsIt imports an api.properties the way
// cyphernode's gatekeeper reads it (the file is sourced by sh): a later
// line for an action replaces an earlier one, and a comment after a value
// is not part of the group. Checked through the gateway with the
// installer's keys: 001 is stats,watcher; 002 adds spender.
func TestAPIPropertiesAsShellReadsIt(t *testing.T) {
	testenv.Integration(t)
	up := newUpstream(t)
	dir := t.TempDir()
	props := strings.Join([]string{
		"# Watcher can:",
		"action_spend=watcher",
		"action_getbestblockhash=watcher # read only",
		`action_getbalance="spender"   # quoted, then a comment`,
		"# later in the file, tightened:",
		"action_spend=spender",
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(dir, "api.properties"), []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := os.ReadFile("testdata/keys-cyphernode.properties")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ParseKeyFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	y := "routes:\n  - prefix: /v0\n    upstream: __UP__\n    strip_prefix: true\n    api_properties: __DIR__/api.properties\n"
	g := startGW(t, gwOpts{yaml: y, keys: string(keys), upstream: up.URL, dir: dir})
	call := func(id, action string) answer {
		return g.do(t, "GET", "/v0/"+action, fresh(id, string(ks[id].Secret), 10*time.Second))
	}
	// sh keeps the last assignment: spend needs spender now.
	call("001", "spend").want(t, http.StatusForbidden, ReasonForbidden)
	call("002", "spend").want(t, http.StatusOK, "")
	// "watcher # read only" is the group watcher.
	call("001", "getbestblockhash").want(t, http.StatusOK, "")
	call("001", "getbalance").want(t, http.StatusForbidden, ReasonForbidden)
	call("002", "getbalance").want(t, http.StatusOK, "")
	// Not listed: refused, as cyphernode does.
	call("003", "conf").want(t, http.StatusForbidden, ReasonForbidden)
}

// TestAPIPropertiesLineErrors: a value that sh would not read as one word
// is refused, naming the line.
func TestAPIPropertiesLineErrors(t *testing.T) {
	for _, bad := range []string{"action_a=watcher spender\n", "# c\naction_a=\"watcher\" spender\n", "action_a=\"watcher\n"} {
		_, err := ParseAPIProperties([]byte(bad))
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if n := strings.Count(bad, "\n"); !strings.Contains(err.Error(), "line "+string(rune('0'+n))) {
			t.Errorf("%q: error %q does not name line %d", bad, err, n)
		}
	}
}
