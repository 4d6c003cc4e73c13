package storetest

import (
	"bytes"
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
