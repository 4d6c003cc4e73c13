package server_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis/portcullis/internal/store"
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

// A wrong password costs what an unknown name costs even when the user's
// hash is cheaper than authn.bcrypt_cost: `htpasswd -B` makes cost-5
// hashes, a static user's hash is whatever was pasted into the config,
// and database users keep the cost they were created with when the
// setting is raised. Else one refused login tells, by its time, whether
// the name is a user (distribution #4758).
func TestCheapHashDenialCostsWhatAnUnknownNameCosts(t *testing.T) {
	const cost = 11
	cheap, err := bcrypt.GenerateFromPassword([]byte("some-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	in := startPortcullisWith(t, harnessOptions{bcryptCost: cost, static: fmt.Sprintf("{sam: {password: %q}}", cheap)}, "")
	if err := in.srv.Store().CreateUser(t.Context(), store.User{Name: "dave", PasswordHash: cheap}); err != nil {
		t.Fatal(err)
	}
	unknown := fastestRefusal(t, in, "nobody-here", "wrong-password")
	for _, tc := range []struct{ backend, user string }{
		{"htpasswd", "alice"},
		{"static", "sam"},
		{"db", "dave"},
	} {
		t.Run(tc.backend, func(t *testing.T) {
			if got := fastestRefusal(t, in, tc.user, "wrong-password"); got < unknown/2 {
				t.Errorf("wrong password of %s user %s refused in %v, an unknown name in %v: the time tells users apart", tc.backend, tc.user, got, unknown)
			}
		})
	}
}

// Hashes dearer than authn.bcrypt_cost cannot be padded down: a wrong
// password for those users takes longer than an unknown name. The
// operator is told at start (and at each htpasswd load) which
// authenticators hold such hashes.
func TestDearHashesAreWarnedAbout(t *testing.T) {
	dear, err := bcrypt.GenerateFromPassword([]byte("some-secret"), bcrypt.MinCost+1)
	if err != nil {
		t.Fatal(err)
	}
	in := startPortcullisWith(t, harnessOptions{static: fmt.Sprintf("{sam: {password: %q}, tom: {password: %q}}", dear, dear)}, "")
	writeHtpasswdLine(t, in, "dev", string(dear))
	in.srv.Reload()
	for _, source := range []string{"static", "htpasswd"} {
		if !logLine(in.Logs(), "level=WARN", "dearer than authn.bcrypt_cost", "authenticator="+source) {
			t.Errorf("no warning about %s's hashes above authn.bcrypt_cost in the log:\n%s", source, in.Logs())
		}
	}
}
