package apptoken

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/store"
)

// countingStore counts the writes of last-use times.
type countingStore struct {
	store.Store
	mu      sync.Mutex
	touches [][]store.Usage
}

func (c *countingStore) TouchAppTokens(ctx context.Context, uses []store.Usage) error {
	c.mu.Lock()
	c.touches = append(c.touches, append([]store.Usage(nil), uses...))
	c.mu.Unlock()
	return c.Store.TouchAppTokens(ctx, uses)
}

func (c *countingStore) calls() [][]store.Usage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]store.Usage(nil), c.touches...)
}

func authenticate(t *testing.T, b *Backend, user, pw, addr string) authn.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cr := authn.Credentials{Username: user, Password: pw}
	if addr != "" {
		cr.RemoteAddr = netip.MustParseAddr(addr)
	}
	res, err := b.Authenticate(ctx, cr)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBackendDecisions(t *testing.T) {
	st := openStore(t)
	addUser(t, st, "alice")
	addUser(t, st, "bob")
	now := time.Now()
	b := New("apptoken", st, StoreUsers(st), nil)
	t.Cleanup(func() { b.Close() })
	b.SetClock(func() time.Time { return now })

	tok, err := Create(t.Context(), st, "alice", "laptop", []string{"repository:alice/**:pull"}, now.Add(time.Hour), 5)
	if err != nil {
		t.Fatal(err)
	}
	res := authenticate(t, b, "alice", tok, "192.0.2.1")
	if res.Decision != authn.Grant || res.Identity.Account != "alice" || res.Identity.Kind != authn.KindAppToken ||
		res.Identity.CredentialID != "laptop" || len(res.Identity.Scopes) != 1 {
		t.Fatalf("own token: %+v %+v", res, res.Identity)
	}
	if res := authenticate(t, b, "bob", tok, ""); res.Decision != authn.Deny {
		t.Fatalf("alice's token as bob's password: %v", res.Decision)
	}
	if res := authenticate(t, b, "alice", "an ordinary password", ""); res.Decision != authn.Abstain {
		t.Fatalf("ordinary password: %v, want abstain", res.Decision)
	}
	other, _, _ := Generate()
	if res := authenticate(t, b, "alice", other, ""); res.Decision != authn.Deny {
		t.Fatalf("unknown token: %v", res.Decision)
	}

	// Expiry is at once, by the backend's clock: no sleeping.
	now = now.Add(time.Hour)
	if res := authenticate(t, b, "alice", tok, ""); res.Decision != authn.Deny {
		t.Fatalf("expired token: %v", res.Decision)
	}
	now = now.Add(-time.Second)
	if res := authenticate(t, b, "alice", tok, ""); res.Decision != authn.Grant {
		t.Fatalf("a second before expiry: %v", res.Decision)
	}

	// Disabling the owner stops the token on the next request; enabling
	// brings it back; removing the owner stops it for good.
	yes, no := true, false
	if _, err := st.UpdateUser(t.Context(), "alice", store.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if res := authenticate(t, b, "alice", tok, ""); res.Decision != authn.Deny {
		t.Fatalf("token of a disabled user: %v", res.Decision)
	}
	if _, err := st.UpdateUser(t.Context(), "alice", store.UserUpdate{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	if res := authenticate(t, b, "alice", tok, ""); res.Decision != authn.Grant {
		t.Fatalf("token of a re-enabled user: %v", res.Decision)
	}
	if err := st.DeleteAppToken(t.Context(), "alice", "laptop"); err != nil {
		t.Fatal(err)
	}
	if res := authenticate(t, b, "alice", tok, ""); res.Decision != authn.Deny {
		t.Fatalf("revoked token: %v", res.Decision)
	}

	// A user known to no authenticator (removed) has no working token,
	// even if a row were left behind.
	tok2, err := Create(t.Context(), st, "bob", "ci", nil, time.Time{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if res := authenticate(t, b, "bob", tok2, ""); res.Decision != authn.Grant {
		t.Fatalf("bob's token: %v", res.Decision)
	}
	if err := st.DeleteUser(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAppToken(t.Context(), store.AppToken{User: "bob", Name: "ci", Hash: Hash(tok2)}, 5); err != nil {
		t.Fatal(err)
	}
	if res := authenticate(t, b, "bob", tok2, ""); res.Decision != authn.Deny {
		t.Fatalf("token of a removed user: %v", res.Decision)
	}
}

// "Last used" costs no database write per request: any number of uses
// between two flushes become one write holding the latest use.
func TestLastUseCoalesced(t *testing.T) {
	st := &countingStore{Store: openStore(t)}
	addUser(t, st, "alice")
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	b := New("apptoken", st, StoreUsers(st), nil)
	t.Cleanup(func() { b.Close() })
	b.SetClock(func() time.Time { return now })
	tok, err := Create(t.Context(), st, "alice", "laptop", nil, time.Time{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	const uses = 500
	for i := range uses {
		now = now.Add(time.Millisecond)
		addr := "192.0.2.1"
		if i == uses-1 {
			addr = "198.51.100.7"
		}
		if res := authenticate(t, b, "alice", tok, addr); res.Decision != authn.Grant {
			t.Fatalf("use %d: %v", i, res.Decision)
		}
	}
	if n := len(st.calls()); n != 0 {
		t.Fatalf("%d last-use writes during %d logins, want none before the flush", n, uses)
	}
	if err := b.Usage().Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	calls := st.calls()
	if len(calls) != 1 || len(calls[0]) != 1 {
		t.Fatalf("flush wrote %v, want one batch of one use", calls)
	}
	got, err := st.GetAppTokenByHash(t.Context(), Hash(tok))
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsedAt.Equal(now) || got.LastUsedAddr != "198.51.100.7" {
		t.Fatalf("last used %v from %q, want %v from 198.51.100.7", got.LastUsedAt, got.LastUsedAddr, now)
	}
	// Nothing pending: a second flush writes nothing.
	if err := b.Usage().Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(st.calls()); n != 1 {
		t.Fatalf("%d writes after an empty flush", n)
	}
}
