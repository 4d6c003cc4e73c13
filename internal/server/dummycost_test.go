package server_test

import (
	"net/url"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// costTen is how long one bcrypt compare at the default cost (10) takes
// on this machine.
func costTen(t *testing.T) time.Duration {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	best := time.Hour
	for range 3 {
		start := time.Now()
		_ = bcrypt.CompareHashAndPassword(h, []byte("y"))
		best = min(best, time.Since(start))
	}
	return best
}

// fastestRefusal is the shortest of a few refused token requests.
func fastestRefusal(t *testing.T, in *instance, user, pass string) time.Duration {
	t.Helper()
	best := time.Hour
	for range 5 {
		start := time.Now()
		resp, _, body := in.getToken(t, "/token", user, pass, url.Values{"service": {in.cfg.Token.Service}})
		d := time.Since(start)
		if resp.StatusCode != 401 {
			t.Fatalf("%s: status %d, want 401: %s", user, resp.StatusCode, body)
		}
		best = min(best, d)
	}
	return best
}

// The database backend's dummy compare for an unknown name uses
// authn.bcrypt_cost (4 in the harness), not bcrypt's default 10: with
// cost 4 configured, an unknown name is refused far faster than one
// cost-10 compare.
func TestDBUserDummyCostFollowsConfig(t *testing.T) {
	in := startPortcullis(t, "")
	ten := costTen(t)
	if got := fastestRefusal(t, in, "nobody-here", "whatever"); got > ten/2 {
		t.Fatalf("unknown name refused in %v; one cost-10 compare takes %v: the db backend's dummy hash ignores authn.bcrypt_cost", got, ten)
	}
}

// The ldap backend's dummy compare on a denial uses authn.bcrypt_cost.
func TestLDAPDummyCostFollowsConfig(t *testing.T) {
	s := startLDAPDirectory(t)
	in := startLDAPPortcullis(t, s, ldapSetup{})
	ten := costTen(t)
	if got := fastestRefusal(t, in, "alice", "wrong-password"); got > ten/2 {
		t.Fatalf("directory denial took %v; one cost-10 compare takes %v: the ldap backend's dummy hash ignores authn.bcrypt_cost", got, ten)
	}
}
