package dbuser_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/dbuser"
	"github.com/portcullis/portcullis/internal/authn/static"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "portcullis.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func addUser(t *testing.T, st store.UserStore, name, pw string, admin bool) {
	t.Helper()
	h, err := dbuser.HashPassword(pw, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(t.Context(), store.User{Name: name, PasswordHash: h, Admin: admin}); err != nil {
		t.Fatal(err)
	}
}

func login(t *testing.T, c *authn.Chain, user, pw string) authn.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := c.Authenticate(ctx, authn.Credentials{Username: user, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// A user removed and created again under the same name starts over at the
// same generation; a password of the removed account held in the
// verification cache must not pass for the new one (nor carry the old
// account's admin flag).
func TestCachedPasswordOfRemovedUserRefusedAfterRecreate(t *testing.T) {
	st := openStore(t)
	b := dbuser.New("db", st, nil).WithBcryptCost(4)
	chain, err := authn.NewChain([]authn.Link{{Authenticator: b}}, authn.NewCache(time.Hour, 100), 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, st, "root", "root-password", true) // so bob, an admin, may be removed
	addUser(t, st, "bob", "old-password", true)
	if res := login(t, chain, "bob", "old-password"); res.Decision != authn.Grant || !res.Identity.Admin {
		t.Fatalf("first login: %+v", res)
	}
	if chain.Cache().Len() != 1 {
		t.Fatalf("grant not cached")
	}
	if err := st.DeleteUser(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	addUser(t, st, "bob", "new-password", false)

	if res := login(t, chain, "bob", "old-password"); res.Decision == authn.Grant {
		t.Fatalf("the removed account's password still works for the new bob: %+v (admin %v)", res, res.Identity.Admin)
	}
	if res := login(t, chain, "bob", "new-password"); res.Decision != authn.Grant || res.Identity.Admin {
		t.Fatalf("new password: %+v", res)
	}
}

// A disabled user is refused on the next request although the password is
// cached, and a password change makes the cached old password fail.
func TestCachedPasswordRevalidated(t *testing.T) {
	st := openStore(t)
	b := dbuser.New("db", st, nil).WithBcryptCost(4)
	chain, err := authn.NewChain([]authn.Link{{Authenticator: b}}, authn.NewCache(time.Hour, 100), 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, st, "carol", "pw-1", false)
	if res := login(t, chain, "carol", "pw-1"); res.Decision != authn.Grant {
		t.Fatalf("login: %+v", res)
	}
	yes, no := true, false
	if _, err := st.UpdateUser(t.Context(), "carol", store.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if res := login(t, chain, "carol", "pw-1"); res.Decision == authn.Grant {
		t.Fatal("disabled user granted from the cache")
	}
	if _, err := st.UpdateUser(t.Context(), "carol", store.UserUpdate{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	if res := login(t, chain, "carol", "pw-1"); res.Decision != authn.Grant {
		t.Fatalf("re-enabled: %+v", res)
	}
	h, _ := dbuser.HashPassword("pw-2", 4)
	if _, err := st.UpdateUser(t.Context(), "carol", store.UserUpdate{PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	if res := login(t, chain, "carol", "pw-1"); res.Decision == authn.Grant {
		t.Fatal("old password granted from the cache after a change")
	}
}

// racingStore lets another instance create the administrator between this
// instance's count and its insert, as when two instances start at once on
// one PostgreSQL database.
type racingStore struct {
	store.UserStore
	raced bool
}

func (r *racingStore) CountAdmins(ctx context.Context) (int, error) {
	if !r.raced {
		r.raced = true
		n, err := r.UserStore.CountAdmins(ctx)
		h, _ := dbuser.HashPassword("the other instance's", 4)
		if err := r.UserStore.CreateUser(ctx, store.User{Name: dbuser.BootstrapUser, PasswordHash: h, Admin: true}); err != nil {
			return 0, err
		}
		return n, err
	}
	return r.UserStore.CountAdmins(ctx)
}

func TestBootstrap(t *testing.T) {
	st := openStore(t)
	var out strings.Builder
	if err := dbuser.Bootstrap(t.Context(), st, 4, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `Created administrator "admin"`) || !strings.Contains(out.String(), "portcullis user passwd admin") {
		t.Fatalf("first start: %q", out.String())
	}
	out.Reset()
	if err := dbuser.Bootstrap(t.Context(), st, 4, &out); err != nil || out.Len() != 0 {
		t.Fatalf("second start: %q %v", out.String(), err)
	}

	// Another instance bootstrapped at the same moment: nothing to say,
	// an administrator exists.
	out.Reset()
	if err := dbuser.Bootstrap(t.Context(), &racingStore{UserStore: openStore(t)}, 4, &out); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("lost the race with another instance, printed: %q", out.String())
	}

	// A user "admin" that is not an enabled administrator is not promoted.
	st2 := openStore(t)
	addUser(t, st2, "admin", "someone's", false)
	out.Reset()
	if err := dbuser.Bootstrap(t.Context(), st2, 4, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "portcullis user add NAME --admin") {
		t.Fatalf("admin taken: %q", out.String())
	}
	if u, _ := st2.GetUser(t.Context(), "admin"); u.Admin {
		t.Fatal("an existing user was made administrator")
	}
}

// A user disabled in the database is not found by a lookup through the
// chain, even when a later authenticator knows the same name: the first
// that knows a name decides, for tokens as for passwords.
func TestDisabledUserLookupStopsAtDatabase(t *testing.T) {
	st := openStore(t)
	h, err := dbuser.HashPassword("static-pw", 4)
	if err != nil {
		t.Fatal(err)
	}
	later, err := static.New("static", map[string]static.User{"sam": {Hash: h, Admin: true}, "other": {Hash: h}})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := authn.NewChain([]authn.Link{{Authenticator: dbuser.New("db", st, nil).WithBcryptCost(4)}, {Authenticator: later}}, nil, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, st, "sam", "db-pw", false)
	yes := true
	if _, err := st.UpdateUser(t.Context(), "sam", store.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, source string
		found        bool
	}{
		{"sam", "", false},        // disabled in the database: not the static sam
		{"other", "static", true}, // unknown to the database: the next one answers
		{"nobody", "", false},
	} {
		id, found, err := chain.LookupUser(t.Context(), c.user)
		if err != nil || found != c.found || found && id.Source != c.source {
			t.Errorf("LookupUser(%s) = %+v, %v, %v; want found=%v from %q", c.user, id, found, err, c.found, c.source)
		}
	}
}
