package storetest

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

var engineTokenCases = []testCase{
	{"EngineTokenCRUD", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		exp := clk.Now().Add(time.Hour)
		mustNil(t, s.CreateEngineToken(c, store.EngineToken{Name: "deploy", Hash: hash("e1"), Policy: "readonly", ExpiresAt: exp}))
		got, err := s.GetEngineTokenByHash(c, hash("e1"))
		mustNil(t, err)
		if got.Name != "deploy" || got.Policy != "readonly" || !bytes.Equal(got.Hash, hash("e1")) {
			t.Errorf("got %+v", got)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, clk.Now())
		sameTime(t, "ExpiresAt", got.ExpiresAt, exp)
		sameTime(t, "LastUsedAt", got.LastUsedAt, time.Time{})

		mustIs(t, s.CreateEngineToken(c, store.EngineToken{Name: "deploy", Hash: hash("e2"), Policy: "full"}), store.ErrAlreadyExists)
		mustIs(t, s.CreateEngineToken(c, store.EngineToken{Name: "other", Hash: hash("e1"), Policy: "full"}), store.ErrAlreadyExists)
		if err := s.CreateEngineToken(c, store.EngineToken{Name: "bad", Hash: []byte{1, 2, 3}, Policy: "full"}); err == nil {
			t.Error("engine token with a malformed hash accepted")
		}
		mustNil(t, s.CreateEngineToken(c, store.EngineToken{Name: "build", Hash: hash("e3"), Policy: "full"}))
		list, err := s.ListEngineTokens(c)
		mustNil(t, err)
		var names []string
		for _, x := range list {
			names = append(names, x.Name)
		}
		if !reflect.DeepEqual(names, []string{"build", "deploy"}) {
			t.Errorf("ListEngineTokens = %v", names)
		}

		mustNil(t, s.DeleteEngineToken(c, "build"))
		mustIs(t, s.DeleteEngineToken(c, "build"), store.ErrNotFound)
		_, err = s.GetEngineTokenByHash(c, hash("e3"))
		mustIs(t, err, store.ErrNotFound)
	}},
	{"EngineTokenRotate", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		mustNil(t, s.CreateEngineToken(c, store.EngineToken{Name: "a", Hash: hash("old"), Policy: "p"}))
		mustNil(t, s.CreateEngineToken(c, store.EngineToken{Name: "b", Hash: hash("b"), Policy: "p"}))
		mustNil(t, s.ReplaceEngineTokenHash(c, "a", hash("new")))
		_, err := s.GetEngineTokenByHash(c, hash("old"))
		mustIs(t, err, store.ErrNotFound)
		got, err := s.GetEngineTokenByHash(c, hash("new"))
		mustNil(t, err)
		if got.Name != "a" || got.Policy != "p" {
			t.Errorf("rotated token = %+v", got)
		}
		mustIs(t, s.ReplaceEngineTokenHash(c, "nope", hash("x")), store.ErrNotFound)
		mustIs(t, s.ReplaceEngineTokenHash(c, "a", hash("b")), store.ErrAlreadyExists)
		if err := s.ReplaceEngineTokenHash(c, "a", []byte("short")); err == nil {
			t.Error("rotation to a malformed hash accepted")
		}
		if _, err := s.GetEngineTokenByHash(c, hash("new")); err != nil {
			t.Errorf("failed rotations changed the token: %v", err)
		}
	}},
	{"EngineTokenTouch", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		mustNil(t, s.CreateEngineToken(c, store.EngineToken{Name: "a", Hash: hash("a"), Policy: "p"}))
		t1 := clk.Now().Add(time.Hour)
		mustNil(t, s.TouchEngineTokens(c, []store.Usage{{Hash: hash("a"), At: t1}, {Hash: hash("zz"), At: t1}}))
		mustNil(t, s.TouchEngineTokens(c, []store.Usage{{Hash: hash("a"), At: t1.Add(-time.Minute)}}))
		got, err := s.GetEngineTokenByHash(c, hash("a"))
		mustNil(t, err)
		sameTime(t, "LastUsedAt", got.LastUsedAt, t1)
	}},
}
