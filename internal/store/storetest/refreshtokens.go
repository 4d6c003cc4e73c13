package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

var refreshTokenCases = []testCase{
	{"RefreshTokenCRUD", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		exp := clk.Now().Add(90 * 24 * time.Hour)
		rt := store.RefreshToken{ID: "abc", User: "alice", ClientID: "docker", Hash: hash("r1"), ExpiresAt: exp}
		mustNil(t, s.CreateRefreshToken(c, rt))
		got, err := s.GetRefreshTokenByHash(c, hash("r1"))
		mustNil(t, err)
		if got.ID != "abc" || got.User != "alice" || got.ClientID != "docker" || !bytes.Equal(got.Hash, hash("r1")) {
			t.Errorf("got %+v", got)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, clk.Now())
		sameTime(t, "ExpiresAt", got.ExpiresAt, exp)
		sameTime(t, "LastUsedAt", got.LastUsedAt, time.Time{})

		mustIs(t, s.CreateRefreshToken(c, store.RefreshToken{ID: "abc", User: "alice", ClientID: "x", Hash: hash("r2")}), store.ErrAlreadyExists)
		mustIs(t, s.CreateRefreshToken(c, store.RefreshToken{ID: "def", User: "alice", ClientID: "x", Hash: hash("r1")}), store.ErrAlreadyExists)
		if err := s.CreateRefreshToken(c, store.RefreshToken{ID: "bad", User: "alice", Hash: []byte("short")}); err == nil {
			t.Error("refresh token with a malformed hash accepted")
		}
		_, err = s.GetRefreshTokenByHash(c, hash("r2"))
		mustIs(t, err, store.ErrNotFound)

		clk.Advance(time.Second)
		mustNil(t, s.CreateRefreshToken(c, store.RefreshToken{ID: "def", User: "alice", ClientID: "docker", Hash: hash("r3")}))
		mustNil(t, s.CreateRefreshToken(c, store.RefreshToken{ID: "ghi", User: "bob", ClientID: "docker", Hash: hash("r4")}))
		ids := func(list []store.RefreshToken) (out []string) {
			for _, x := range list {
				out = append(out, x.ID)
			}
			return out
		}
		list, err := s.ListRefreshTokens(c, "alice")
		mustNil(t, err)
		if got := ids(list); !reflect.DeepEqual(got, []string{"abc", "def"}) {
			t.Errorf("ListRefreshTokens(alice) = %v", got)
		}
		list, err = s.ListRefreshTokens(c, "")
		mustNil(t, err)
		if len(list) != 3 {
			t.Errorf("ListRefreshTokens(\"\") = %v", ids(list))
		}

		// A user can only revoke their own.
		mustIs(t, s.DeleteRefreshToken(c, "bob", "abc"), store.ErrNotFound)
		mustNil(t, s.DeleteRefreshToken(c, "alice", "abc"))
		mustIs(t, s.DeleteRefreshToken(c, "alice", "abc"), store.ErrNotFound)
		_, err = s.GetRefreshTokenByHash(c, hash("r1"))
		mustIs(t, err, store.ErrNotFound)

		n, err := s.DeleteRefreshTokens(c, "alice")
		mustNil(t, err)
		if n != 1 {
			t.Errorf("DeleteRefreshTokens(alice) = %d, want 1", n)
		}
		n, err = s.DeleteRefreshTokens(c, "alice")
		mustNil(t, err)
		if n != 0 {
			t.Errorf("second DeleteRefreshTokens(alice) = %d, want 0", n)
		}
		if _, err := s.GetRefreshTokenByHash(c, hash("r4")); err != nil {
			t.Errorf("bob's token: %v", err)
		}
	}},
	{"RefreshTokenPerUserBound", func(t *testing.T, s store.Store, clk *Clock) {
		// Every login with a password may make a session: creating one
		// drops the user's expired sessions, and beyond
		// store.MaxRefreshTokensPerUser the least recently used one, so
		// no one can fill the store by logging in over and over.
		c := ctx(t)
		mustNil(t, s.CreateRefreshToken(c, store.RefreshToken{ID: "expiring", User: "u", ClientID: "docker", Hash: hash("expiring"), ExpiresAt: clk.Now().Add(time.Minute)}))
		mustNil(t, s.CreateRefreshToken(c, store.RefreshToken{ID: "other", User: "v", ClientID: "docker", Hash: hash("other"), ExpiresAt: clk.Now().Add(time.Minute)}))
		clk.Advance(time.Minute)
		for i := range store.MaxRefreshTokensPerUser {
			clk.Advance(time.Millisecond)
			id := fmt.Sprint("s", i)
			mustNil(t, s.CreateRefreshToken(c, store.RefreshToken{ID: id, User: "u", ClientID: "docker", Hash: hash(id)}))
		}
		if _, err := s.GetRefreshTokenByHash(c, hash("expiring")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an expired session outlived the creation of another: %v", err)
		}
		// Another user's expired session is theirs to lose, not u's.
		if _, err := s.GetRefreshTokenByHash(c, hash("other")); err != nil {
			t.Errorf("v's session: %v", err)
		}
		// s0 is the oldest, but was used lately: s1 goes.
		mustNil(t, s.TouchRefreshTokens(c, []store.Usage{{Hash: hash("s0"), At: clk.Now(), Addr: "192.0.2.1"}}))
		mustNil(t, s.CreateRefreshToken(c, store.RefreshToken{ID: "new", User: "u", ClientID: "docker", Hash: hash("new")}))
		list, err := s.ListRefreshTokens(c, "u")
		mustNil(t, err)
		if len(list) != store.MaxRefreshTokensPerUser {
			t.Errorf("u has %d sessions, want %d", len(list), store.MaxRefreshTokensPerUser)
		}
		for _, id := range []string{"s0", "new", "s2"} {
			if _, err := s.GetRefreshTokenByHash(c, hash(id)); err != nil {
				t.Errorf("session %s: %v", id, err)
			}
		}
		if _, err := s.GetRefreshTokenByHash(c, hash("s1")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the least recently used session survived: %v", err)
		}
	}},
	{"RefreshTokenTouch", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		mustNil(t, s.CreateRefreshToken(c, store.RefreshToken{ID: "a", User: "u", ClientID: "docker", Hash: hash("a")}))
		t1 := clk.Now().Add(time.Hour)
		mustNil(t, s.TouchRefreshTokens(c, []store.Usage{{Hash: hash("a"), At: t1, Addr: "2001:db8::1"}, {Hash: hash("zz"), At: t1}}))
		mustNil(t, s.TouchRefreshTokens(c, []store.Usage{{Hash: hash("a"), At: t1.Add(-time.Minute), Addr: "2001:db8::2"}}))
		got, err := s.GetRefreshTokenByHash(c, hash("a"))
		mustNil(t, err)
		sameTime(t, "LastUsedAt", got.LastUsedAt, t1)
		if got.LastUsedAddr != "2001:db8::1" {
			t.Errorf("LastUsedAddr = %q", got.LastUsedAddr)
		}
	}},
}
