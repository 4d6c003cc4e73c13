package ldap

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
)

// TestOneBindPerLogin: with a service account, user binds run on
// connections of their own, so once the pools are warm a login costs
// exactly one bind (the user's), and searches keep running as the service
// account after any number of user binds.
func TestOneBindPerLogin(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, searchConfig, "pool_size: 2"))
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
	before := b.Stats()
	users := []struct{ name, pw string }{{"alice", "alice-pw"}, {"bob", "bob-pw"}, {"carol", "carol-pw"}, {"alice", "wrong"}}
	const rounds = 10
	for range rounds {
		for _, u := range users {
			want := authn.Grant
			if u.pw == "wrong" {
				want = authn.Deny
			}
			mustDecide(t, b, u.name, u.pw, want)
		}
	}
	after := b.Stats()
	if got := after.UserBinds - before.UserBinds; got != rounds*int64(len(users)) {
		t.Fatalf("%d user binds for %d logins", got, rounds*len(users))
	}
	if got := after.ServiceBinds - before.ServiceBinds; got != 0 {
		t.Fatalf("%d service re-binds on warm connections", got)
	}
	if after.Dials > 4 {
		t.Fatalf("%d connections for pool_size 2 (two pools)", after.Dials)
	}
}

// TestConcurrentLoginsKeepIdentities runs logins of different users at
// once on a small pool: each gets its own groups, never another's.
func TestConcurrentLoginsKeepIdentities(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, searchConfig, "pool_size: 2"))
	want := map[string]string{"alice": "[team-a]", "bob": "[team-b]"}
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := []string{"alice", "bob"}[i%2]
			for range 20 {
				res, err := login(t, b, u, u+"-pw")
				switch {
				case err != nil:
					errs <- u + ": " + err.Error()
				case res.Decision != authn.Grant:
					errs <- u + ": " + res.Decision.String()
				case fmtLabels(map[string][]string{"g": res.Identity.Labels["groups"]}) != "map[g:"+want[u]+"]":
					errs <- u + " got groups " + fmtLabels(res.Identity.Labels)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestPoolWaitIsBounded: a login that finds every connection in use waits
// at most as long as a request may hold one against a directory that does
// not answer, then fails with ErrBackend (503), not after the client's
// patience runs out.
func TestPoolWaitIsBounded(t *testing.T) {
	s := startDirectory(t)
	cfg := parseLDAP(t, s, searchConfig, "pool_size: 1")
	cfg.DialTimeout, cfg.BindTimeout, cfg.SearchTimeout = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	b := newBackend(t, cfg)
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
	held, err := b.pool.get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := login(t, b, "alice", "alice-pw")
	wantBackendError(t, res, err)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("waited %s for a connection", d)
	}
	if !strings.Contains(err.Error(), "no LDAP connection free") {
		t.Fatalf("error %v", err)
	}
	b.pool.put(held)
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
}
