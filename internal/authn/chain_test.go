package authn_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/htpasswd"
	"github.com/portcullis/portcullis/internal/authn/static"
	"golang.org/x/crypto/bcrypt"
)

// countingBackend is a real static backend wrapped to count calls, so the
// tests can see when the chain consults it.
type countingBackend struct {
	authn.Authenticator
	calls int
	err   error
}

func (c *countingBackend) Authenticate(ctx context.Context, cr authn.Credentials) (authn.Result, error) {
	c.calls++
	if c.err != nil {
		return authn.Result{}, c.err
	}
	return c.Authenticator.Authenticate(ctx, cr)
}

func (c *countingBackend) Revalidate(ctx context.Context, id *authn.Identity) (bool, error) {
	return c.Authenticator.(authn.Cacheable).Revalidate(ctx, id)
}

func hash(t *testing.T, pw string) []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newStatic(t *testing.T, name string, users map[string]string) *countingBackend {
	m := map[string]static.User{}
	for u, p := range users {
		m[u] = static.User{Hash: hash(t, p), Labels: map[string][]string{"src": {name}}}
	}
	b, err := static.New(name, m)
	if err != nil {
		t.Fatal(err)
	}
	return &countingBackend{Authenticator: b}
}

func TestChainOrderAndDecisions(t *testing.T) {
	first := newStatic(t, "first", map[string]string{"alice": "a1"})
	second := newStatic(t, "second", map[string]string{"alice": "a2", "bob": "b"})
	chain, err := authn.NewChain([]authn.Link{{Authenticator: first}, {Authenticator: second}}, nil, bcrypt.MinCost, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		user, pass string
		want       authn.Decision
		source     string
	}{
		{"alice", "a1", authn.Grant, "first"},
		{"alice", "a2", authn.Deny, "first"}, // first knows alice: its deny ends the chain
		{"bob", "b", authn.Grant, "second"},
		{"bob", "x", authn.Deny, "second"},
		{"nobody", "x", authn.Abstain, ""},
		{"alice", "", authn.Deny, ""},
		{"", "x", authn.Deny, ""},
	}
	for _, tt := range tests {
		res, err := chain.Authenticate(ctx, authn.Credentials{Username: tt.user, Password: tt.pass})
		if err != nil {
			t.Fatalf("%s/%s: %v", tt.user, tt.pass, err)
		}
		if res.Decision != tt.want {
			t.Errorf("%s/%s: decision %v, want %v", tt.user, tt.pass, res.Decision, tt.want)
		}
		if tt.want == authn.Grant && res.Identity.Source != tt.source {
			t.Errorf("%s: source %q, want %q", tt.user, res.Identity.Source, tt.source)
		}
	}
}

func TestChainBackendErrors(t *testing.T) {
	broken := newStatic(t, "ldap", nil)
	broken.err = errors.New("dial tcp 127.0.0.1:1: connection refused")
	fallback := newStatic(t, "local", map[string]string{"alice": "pw"})
	ctx := context.Background()
	cr := authn.Credentials{Username: "alice", Password: "pw"}

	stop, _ := authn.NewChain([]authn.Link{{Authenticator: broken}, {Authenticator: fallback}}, nil, bcrypt.MinCost, slog.New(slog.DiscardHandler))
	res, err := stop.Authenticate(ctx, cr)
	if !errors.Is(err, authn.ErrBackend) || res.Decision == authn.Grant {
		t.Fatalf("failing backend without skip: res=%v err=%v, want ErrBackend and no grant", res.Decision, err)
	}
	skip, _ := authn.NewChain([]authn.Link{{Authenticator: broken, SkipOnError: true}, {Authenticator: fallback}}, nil, bcrypt.MinCost, slog.New(slog.DiscardHandler))
	res, err = skip.Authenticate(ctx, cr)
	if err != nil || res.Decision != authn.Grant || res.Identity.Source != "local" {
		t.Fatalf("skip on error: res=%+v err=%v", res, err)
	}
}

func TestCacheAvoidsRehashingAndHonoursTTL(t *testing.T) {
	b := newStatic(t, "s", map[string]string{"alice": "pw"})
	cache := authn.NewCache(time.Minute, 100)
	now := time.Unix(1_700_000_000, 0)
	cache.SetClock(func() time.Time { return now })
	chain, _ := authn.NewChain([]authn.Link{{Authenticator: b}}, cache, bcrypt.MinCost, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		res, err := chain.Authenticate(ctx, authn.Credentials{Username: "alice", Password: "pw"})
		if err != nil || res.Decision != authn.Grant {
			t.Fatalf("attempt %d: %v %v", i, res.Decision, err)
		}
	}
	if b.calls != 1 {
		t.Fatalf("backend consulted %d times for 5 identical logins, want 1", b.calls)
	}
	if res, _ := chain.Authenticate(ctx, authn.Credentials{Username: "alice", Password: "wrong"}); res.Decision != authn.Deny {
		t.Fatalf("wrong password after a cached grant: %v", res.Decision)
	}
	now = now.Add(61 * time.Second)
	_, _ = chain.Authenticate(ctx, authn.Credentials{Username: "alice", Password: "pw"})
	if b.calls != 3 {
		t.Fatalf("after expiry backend calls = %d, want 3", b.calls)
	}
	cache.InvalidateUser("alice")
	if cache.Len() != 0 {
		t.Fatalf("invalidate left %d entries", cache.Len())
	}
}

func TestCacheBounded(t *testing.T) {
	cache := authn.NewCache(time.Minute, 50)
	b := newStatic(t, "s", nil)
	for i := 0; i < 500; i++ {
		cache.Put("u", string(rune('a'+i%26))+time.Duration(i).String(), &authn.Identity{Account: "u"}, b)
	}
	if n := cache.Len(); n > 50 {
		t.Fatalf("cache holds %d entries, bound is 50", n)
	}
}

func TestHtpasswdChangeDropsCachedCredentials(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/htpasswd"
	write := func(pw string) {
		if err := writeFile(path, "alice:"+string(hash(t, pw))+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	write("old")
	hb, err := htpasswd.New("htpasswd", path, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cache := authn.NewCache(time.Hour, 100)
	chain, _ := authn.NewChain([]authn.Link{{Authenticator: hb}}, cache, bcrypt.MinCost, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if res, _ := chain.Authenticate(ctx, authn.Credentials{Username: "alice", Password: "old"}); res.Decision != authn.Grant {
		t.Fatal("old password refused")
	}
	write("new")
	if err := hb.Reload(); err != nil {
		t.Fatal(err)
	}
	if res, _ := chain.Authenticate(ctx, authn.Credentials{Username: "alice", Password: "old"}); res.Decision == authn.Grant {
		t.Fatal("old password still accepted from the cache after the htpasswd entry changed")
	}
	if res, _ := chain.Authenticate(ctx, authn.Credentials{Username: "alice", Password: "new"}); res.Decision != authn.Grant {
		t.Fatal("new password refused")
	}
}

func TestHtpasswdParse(t *testing.T) {
	good := "# comment\n\nalice:" + string(hash(t, "x")) + "\n"
	if u, err := htpasswd.Parse([]byte(good)); err != nil || len(u) != 1 {
		t.Fatalf("parse good: %v %v", u, err)
	}
	for name, bad := range map[string]string{
		"md5":       "alice:$apr1$abc$def\n",
		"sha":       "alice:{SHA}abc=\n",
		"no colon":  "alice\n",
		"empty usr": ":" + string(hash(t, "x")) + "\n",
		"duplicate": "a:" + string(hash(t, "x")) + "\na:" + string(hash(t, "y")) + "\n",
	} {
		if _, err := htpasswd.Parse([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzHtpasswdParse(f *testing.F) {
	f.Add([]byte("alice:$2y$05$abcdefghijklmnopqrstuuLpHJrVgzrYvBvI1I4Y8f0V4vUGo9ENK\n"))
	f.Add([]byte("# x\n\n:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := htpasswd.Parse(data)
		if err != nil {
			return
		}
		for u, h := range users {
			if u == "" {
				t.Fatal("empty user accepted")
			}
			if _, err := bcrypt.Cost(h); err != nil {
				t.Fatalf("non-bcrypt hash accepted for %q", u)
			}
		}
	})
}

// downDirectory is a directory that cannot be reached: every
// authentication and every lookup fails.
type downDirectory struct{}

func (downDirectory) Name() string { return "ldap" }
func (downDirectory) Authenticate(context.Context, authn.Credentials) (authn.Result, error) {
	return authn.Result{}, errors.New("dial tcp 127.0.0.1:1: connection refused")
}
func (downDirectory) LookupUser(context.Context, string) (*authn.Identity, bool, error) {
	return nil, false, errors.New("dial tcp 127.0.0.1:1: connection refused")
}

// LookupUser (owners of app tokens, users of refresh tokens) follows the
// same error policy as Authenticate: a link that may be skipped is skipped
// when it fails, one that may not stops the lookup with an error.
func TestChainLookupUserHonoursSkipOnError(t *testing.T) {
	local := newStatic(t, "local", map[string]string{"alice": "pw"}).Authenticator
	ctx := context.Background()

	skip, _ := authn.NewChain([]authn.Link{{Authenticator: downDirectory{}, SkipOnError: true}, {Authenticator: local}}, nil, bcrypt.MinCost, slog.New(slog.DiscardHandler))
	if res, err := skip.Authenticate(ctx, authn.Credentials{Username: "alice", Password: "pw"}); err != nil || res.Decision != authn.Grant {
		t.Fatalf("password with the directory skipped: %+v %v", res, err)
	}
	id, ok, err := skip.LookupUser(ctx, "alice")
	if err != nil || !ok || id.Source != "local" {
		t.Fatalf("lookup with the directory skipped: id=%+v ok=%v err=%v", id, ok, err)
	}
	if _, ok, err := skip.LookupUser(ctx, "nobody"); err != nil || ok {
		t.Fatalf("lookup of an unknown user: ok=%v err=%v", ok, err)
	}

	stop, _ := authn.NewChain([]authn.Link{{Authenticator: downDirectory{}}, {Authenticator: local}}, nil, bcrypt.MinCost, slog.New(slog.DiscardHandler))
	if _, ok, err := stop.LookupUser(ctx, "alice"); err == nil || ok {
		t.Fatalf("lookup through a failing link without skip: ok=%v err=%v, want an error", ok, err)
	}
}

// The cache key cannot be shifted between user name and password: a NUL
// moved from one to the other is other credentials.
func TestCacheKeySeparatesUserAndPassword(t *testing.T) {
	c := authn.NewCache(time.Minute, 10)
	c.Put("a", "b\x00c", &authn.Identity{Account: "a"}, newStatic(t, "s", nil))
	if _, _, ok := c.Get("a", "b\x00c"); !ok {
		t.Fatal("the cached credentials themselves miss")
	}
	if id, _, ok := c.Get("a\x00b", "c"); ok {
		t.Fatalf("user %q with password %q hit the entry of %q", "a\x00b", "c", id.Account)
	}
}
