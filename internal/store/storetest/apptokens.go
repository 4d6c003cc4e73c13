package storetest

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

var appTokenCases = []testCase{
	{"AppTokenCreateGet", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		exp := clk.Now().Add(30 * 24 * time.Hour)
		tok := store.AppToken{User: "alice", Name: "ci", Hash: hash("t1"),
			Scopes: []string{"repository:a/b:pull", "repository:a/c:pull,push"}, ExpiresAt: exp}
		mustNil(t, s.CreateAppToken(c, tok, 5))
		got, err := s.GetAppTokenByHash(c, hash("t1"))
		mustNil(t, err)
		if got.User != "alice" || got.Name != "ci" || !bytes.Equal(got.Hash, hash("t1")) ||
			!reflect.DeepEqual(got.Scopes, tok.Scopes) || got.LastUsedAddr != "" {
			t.Errorf("got %+v", got)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, clk.Now())
		sameTime(t, "ExpiresAt", got.ExpiresAt, exp)
		sameTime(t, "LastUsedAt", got.LastUsedAt, time.Time{})

		// No expiry and no scopes round-trip as zero and empty.
		mustNil(t, s.CreateAppToken(c, store.AppToken{User: "alice", Name: "forever", Hash: hash("t2")}, 5))
		got, err = s.GetAppTokenByHash(c, hash("t2"))
		mustNil(t, err)
		sameTime(t, "ExpiresAt", got.ExpiresAt, time.Time{})
		if len(got.Scopes) != 0 {
			t.Errorf("scopes = %v, want none", got.Scopes)
		}

		_, err = s.GetAppTokenByHash(c, hash("unknown"))
		mustIs(t, err, store.ErrNotFound)
		_, err = s.GetAppTokenByHash(c, nil)
		mustIs(t, err, store.ErrNotFound)
		// A prefix of a stored hash matches nothing.
		_, err = s.GetAppTokenByHash(c, hash("t1")[:16])
		mustIs(t, err, store.ErrNotFound)
	}},
	{"AppTokenDuplicates", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		mustNil(t, s.CreateAppToken(c, store.AppToken{User: "alice", Name: "ci", Hash: hash("1")}, 5))
		mustIs(t, s.CreateAppToken(c, store.AppToken{User: "alice", Name: "ci", Hash: hash("2")}, 5), store.ErrAlreadyExists)
		mustIs(t, s.CreateAppToken(c, store.AppToken{User: "bob", Name: "x", Hash: hash("1")}, 5), store.ErrAlreadyExists)
		// Token names are per user.
		mustNil(t, s.CreateAppToken(c, store.AppToken{User: "bob", Name: "ci", Hash: hash("3")}, 5))
		_, err := s.GetAppTokenByHash(c, hash("2"))
		mustIs(t, err, store.ErrNotFound)
	}},
	{"AppTokenInvalid", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		for _, tok := range []store.AppToken{
			{User: "alice", Name: "short", Hash: []byte("not a sha256")},
			{User: "alice", Name: "nohash"},
			{User: "", Name: "x", Hash: hash("a")},
			{User: "alice", Name: "", Hash: hash("b")},
		} {
			if err := s.CreateAppToken(c, tok, 5); err == nil {
				t.Errorf("CreateAppToken(%+v) accepted", tok)
			}
		}
		list, err := s.ListAppTokens(c, "")
		mustNil(t, err)
		if len(list) != 0 {
			t.Errorf("invalid tokens stored: %+v", list)
		}
	}},
	{"AppTokenListDelete", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		for i, ut := range [][2]string{{"bob", "b"}, {"alice", "z"}, {"alice", "a"}} {
			mustNil(t, s.CreateAppToken(c, store.AppToken{User: ut[0], Name: ut[1], Hash: hash(fmt.Sprint(i))}, 5))
		}
		names := func(list []store.AppToken) (out []string) {
			for _, x := range list {
				out = append(out, x.User+"/"+x.Name)
			}
			return out
		}
		list, err := s.ListAppTokens(c, "alice")
		mustNil(t, err)
		if got := names(list); !reflect.DeepEqual(got, []string{"alice/a", "alice/z"}) {
			t.Errorf("ListAppTokens(alice) = %v", got)
		}
		list, err = s.ListAppTokens(c, "")
		mustNil(t, err)
		if got := names(list); !reflect.DeepEqual(got, []string{"alice/a", "alice/z", "bob/b"}) {
			t.Errorf("ListAppTokens(\"\") = %v", got)
		}
		list, err = s.ListAppTokens(c, "nobody")
		mustNil(t, err)
		if len(list) != 0 {
			t.Errorf("ListAppTokens(nobody) = %v", names(list))
		}
		mustNil(t, s.DeleteAppToken(c, "alice", "z"))
		_, err = s.GetAppTokenByHash(c, hash("1"))
		mustIs(t, err, store.ErrNotFound)
		mustIs(t, s.DeleteAppToken(c, "alice", "z"), store.ErrNotFound)
		// Another user's token of the same name is not touched.
		mustIs(t, s.DeleteAppToken(c, "bob", "a"), store.ErrNotFound)
		if _, err := s.GetAppTokenByHash(c, hash("2")); err != nil {
			t.Errorf("alice/a: %v", err)
		}
	}},
	{"AppTokenLimit", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		mustNil(t, s.CreateAppToken(c, store.AppToken{User: "u", Name: "1", Hash: hash("1")}, 2))
		mustNil(t, s.CreateAppToken(c, store.AppToken{User: "u", Name: "2", Hash: hash("2")}, 2))
		mustIs(t, s.CreateAppToken(c, store.AppToken{User: "u", Name: "3", Hash: hash("3")}, 2), store.ErrLimitReached)
		// The cap is per user.
		mustNil(t, s.CreateAppToken(c, store.AppToken{User: "v", Name: "1", Hash: hash("v1")}, 2))
		mustNil(t, s.DeleteAppToken(c, "u", "1"))
		mustNil(t, s.CreateAppToken(c, store.AppToken{User: "u", Name: "3", Hash: hash("3")}, 2))
		// Expired tokens still count until they are deleted: the owner sees
		// and removes them.
		mustNil(t, s.CreateAppToken(c, store.AppToken{User: "w", Name: "old", Hash: hash("w1"), ExpiresAt: clk.Now().Add(time.Hour)}, 1))
		clk.Advance(2 * time.Hour)
		mustIs(t, s.CreateAppToken(c, store.AppToken{User: "w", Name: "new", Hash: hash("w2")}, 1), store.ErrLimitReached)
	}},
	{"AppTokenTouch", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		mustNil(t, s.CreateAppToken(c, store.AppToken{User: "u", Name: "1", Hash: hash("1")}, 5))
		mustNil(t, s.CreateAppToken(c, store.AppToken{User: "u", Name: "2", Hash: hash("2")}, 5))
		t1 := clk.Now().Add(time.Minute)
		t0 := clk.Now().Add(time.Second)
		mustNil(t, s.TouchAppTokens(c, []store.Usage{
			{Hash: hash("1"), At: t1, Addr: "192.0.2.1"},
			{Hash: hash("unknown"), At: t1, Addr: "192.0.2.9"},
		}))
		got, err := s.GetAppTokenByHash(c, hash("1"))
		mustNil(t, err)
		sameTime(t, "LastUsedAt", got.LastUsedAt, t1)
		if got.LastUsedAddr != "192.0.2.1" {
			t.Errorf("LastUsedAddr = %q", got.LastUsedAddr)
		}
		// An older use never moves LastUsedAt back, nor changes the address.
		mustNil(t, s.TouchAppTokens(c, []store.Usage{{Hash: hash("1"), At: t0, Addr: "192.0.2.2"}, {Hash: hash("2"), At: t0, Addr: "192.0.2.3"}}))
		got, err = s.GetAppTokenByHash(c, hash("1"))
		mustNil(t, err)
		sameTime(t, "LastUsedAt", got.LastUsedAt, t1)
		if got.LastUsedAddr != "192.0.2.1" {
			t.Errorf("LastUsedAddr moved back to %q", got.LastUsedAddr)
		}
		got, err = s.GetAppTokenByHash(c, hash("2"))
		mustNil(t, err)
		sameTime(t, "LastUsedAt", got.LastUsedAt, t0)
		mustNil(t, s.TouchAppTokens(c, nil))
	}},
	{"AppTokenTouchBatch", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		const n = 200
		var uses []store.Usage
		for i := range n {
			h := hash(fmt.Sprint(i))
			mustNil(t, s.CreateAppToken(c, store.AppToken{User: fmt.Sprint("u", i%7), Name: fmt.Sprint(i), Hash: h}, 0))
			uses = append(uses, store.Usage{Hash: h, At: clk.Now().Add(time.Duration(i) * time.Millisecond), Addr: "198.51.100.7"})
		}
		mustNil(t, s.TouchAppTokens(c, uses))
		list, err := s.ListAppTokens(c, "")
		mustNil(t, err)
		if len(list) != n {
			t.Fatalf("%d tokens listed, want %d", len(list), n)
		}
		for _, tok := range list {
			var i int
			fmt.Sscan(tok.Name, &i)
			sameTime(t, "LastUsedAt of "+tok.Name, tok.LastUsedAt, clk.Now().Add(time.Duration(i)*time.Millisecond))
		}
	}},
}
