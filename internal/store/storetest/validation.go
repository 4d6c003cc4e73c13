package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

// Inputs neither database can store faithfully are refused the same way by
// every implementation instead of being mangled or failing differently.
var validationCases = []testCase{
	{"RejectsUnstorableText", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		bad := []store.User{
			{Name: "", PasswordHash: []byte("h")},
			{Name: "bad\xffutf8", PasswordHash: []byte("h")},
			{Name: "nul\x00byte", PasswordHash: []byte("h")},
			{Name: strings.Repeat("n", 10_000), PasswordHash: []byte("h")},
			{Name: "labelkey", PasswordHash: []byte("h"), Labels: map[string][]string{"\xff": {"v"}}},
			{Name: "labelvalue", PasswordHash: []byte("h"), Labels: map[string][]string{"k": {"\xfe"}}},
			{Name: "huge", PasswordHash: []byte("h"), Labels: map[string][]string{"k": {strings.Repeat("v", 100_000)}}},
		}
		for _, u := range bad {
			if err := s.CreateUser(c, u); err == nil {
				t.Errorf("CreateUser(%.40q) accepted", u.Name)
			}
		}
		list, err := s.ListUsers(c)
		mustNil(t, err)
		if len(list) != 0 {
			t.Errorf("%d invalid users stored", len(list))
		}
		mustNil(t, s.CreateUser(c, store.User{Name: "ok", PasswordHash: []byte("h")}))
		if _, err := s.UpdateUser(c, "ok", store.UserUpdate{Labels: map[string][]string{"k": {"\xff"}}}); err == nil {
			t.Error("UpdateUser with invalid UTF-8 labels accepted")
		}
		if err := s.CreateAppToken(c, store.AppToken{User: "ok", Name: "t", Hash: hash("t"), Scopes: []string{"\xff"}}, 5); err == nil {
			t.Error("app token with invalid UTF-8 scope accepted")
		}
		if _, err := s.ClaimOnce(c, "k\xff", clk.Now().Add(time.Minute)); err == nil {
			t.Error("ClaimOnce with invalid UTF-8 key accepted")
		}
		// Lookups by a name no store can hold (client input: the user
		// name of a login) find nothing; they are not errors, which would
		// turn a bad login into a 503.
		for _, name := range []string{"bad\xffutf8", "nul\x00byte"} {
			if _, err := s.GetUser(c, name); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetUser(%q): %v, want not found", name, err)
			}
			if l, err := s.ListAppTokens(c, name); err != nil || len(l) != 0 {
				t.Errorf("ListAppTokens(%q): %v %v", name, l, err)
			}
			if l, err := s.ListRefreshTokens(c, name); err != nil || len(l) != 0 {
				t.Errorf("ListRefreshTokens(%q): %v %v", name, l, err)
			}
			mustIs(t, s.DeleteAppToken(c, name, "t"), store.ErrNotFound)
			mustIs(t, s.DeleteAppToken(c, "ok", name), store.ErrNotFound)
			mustIs(t, s.DeleteRefreshToken(c, name, "x"), store.ErrNotFound)
			mustIs(t, s.DeleteRefreshToken(c, "ok", name), store.ErrNotFound)
			if n, err := s.DeleteRefreshTokens(c, name); err != nil || n != 0 {
				t.Errorf("DeleteRefreshTokens(%q): %d %v", name, n, err)
			}
			if _, err := s.UpdateUser(c, name, store.UserUpdate{}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UpdateUser(%q): %v, want not found", name, err)
			}
			mustIs(t, s.DeleteUser(c, name), store.ErrNotFound)
			if _, err := s.GetAPIKey(c, name); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetAPIKey(%q): %v, want not found", name, err)
			}
			// Engine tokens and API keys are removed and rotated by a
			// name an administrator types: the same answer on every store.
			mustIs(t, s.DeleteAPIKey(c, name), store.ErrNotFound)
			mustIs(t, s.DeleteEngineToken(c, name), store.ErrNotFound)
			mustIs(t, s.ReplaceEngineTokenHash(c, name, hash("rotated")), store.ErrNotFound)
		}
		// Unicode that is valid is stored as is.
		mustNil(t, s.CreateUser(c, store.User{Name: "zoë-日本", PasswordHash: []byte("h")}))
		if _, err := s.GetUser(c, "zoë-日本"); err != nil {
			t.Error(err)
		}
	}},
}
