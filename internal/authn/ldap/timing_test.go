package ldap

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"golang.org/x/crypto/bcrypt"
)

// TestDenialCostsWhatAnUnknownNameCosts: through the chain, a name nobody
// knows costs a dummy bcrypt comparison; a directory user's wrong password
// (or a disabled account) must cost at least as much, or the time of one
// failed login tells whether a name is in the directory.
func TestDenialCostsWhatAnUnknownNameCosts(t *testing.T) {
	s := startDirectory(t)
	const cost = bcrypt.DefaultCost
	b := newBackend(t, parseLDAP(t, s, searchConfig))
	b.SetBcryptCost(cost)
	chain, err := authn.NewChain([]authn.Link{{Authenticator: b}}, nil, cost, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// The fastest of a few runs: a loaded machine only slows things down.
	fastest := func(f func()) time.Duration {
		var ds []time.Duration
		for range 3 {
			start := time.Now()
			f()
			ds = append(ds, time.Since(start))
		}
		return slices.Min(ds)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), cost)
	bcryptTime := fastest(func() { _ = bcrypt.CompareHashAndPassword(hash, []byte("y")) })
	try := func(user, password string, want authn.Decision) time.Duration {
		return fastest(func() {
			res, err := chain.Authenticate(t.Context(), authn.Credentials{Username: user, Password: password})
			if err != nil || res.Decision != want {
				t.Fatalf("%s: %+v %v", user, res, err)
			}
		})
	}
	unknown := try("mallory", "x", authn.Abstain)
	for _, c := range [][2]string{{"alice", "wrong"}, {"erin", "erin-pw"}, {"twin", "twin-pw"}} {
		if d := try(c[0], c[1], authn.Deny); d < bcryptTime/2 {
			t.Errorf("%s denied in %s; an unknown name takes %s (one bcrypt compare: %s)", c[0], d, unknown, bcryptTime)
		}
	}
}
