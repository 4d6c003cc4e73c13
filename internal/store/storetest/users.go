package storetest

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

func ptr[T any](v T) *T { return &v }

var userCases = []testCase{
	{"UserCreateGet", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		u := store.User{Name: "alice", PasswordHash: []byte("$2a$10$x"), Admin: true,
			Labels: map[string][]string{"group": {"dev", "ops"}}}
		mustNil(t, s.CreateUser(c, u))
		got, err := s.GetUser(c, "alice")
		mustNil(t, err)
		if got.Name != "alice" || !bytes.Equal(got.PasswordHash, u.PasswordHash) || !got.Admin || got.Disabled {
			t.Errorf("got %+v", got)
		}
		if !reflect.DeepEqual(got.Labels, u.Labels) {
			t.Errorf("labels = %v, want %v", got.Labels, u.Labels)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, clk.Now())
		sameTime(t, "UpdatedAt", got.UpdatedAt, clk.Now())
		if got.Generation < 1 {
			t.Errorf("generation = %d, want >= 1", got.Generation)
		}
		mustIs(t, s.CreateUser(c, store.User{Name: "alice", PasswordHash: []byte("y")}), store.ErrAlreadyExists)
		_, err = s.GetUser(c, "bob")
		mustIs(t, err, store.ErrNotFound)
		// Names are exact: no case folding.
		_, err = s.GetUser(c, "Alice")
		mustIs(t, err, store.ErrNotFound)
	}},
	{"UserExplicitCreatedAt", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		at := time.Date(2020, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
		mustNil(t, s.CreateUser(c, store.User{Name: "a", PasswordHash: []byte("h"), CreatedAt: at}))
		got, err := s.GetUser(c, "a")
		mustNil(t, err)
		sameTime(t, "CreatedAt", got.CreatedAt, at)
	}},
	{"UserList", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		list, err := s.ListUsers(c)
		mustNil(t, err)
		if len(list) != 0 {
			t.Fatalf("empty store lists %d users", len(list))
		}
		for _, n := range []string{"carol", "alice", "bob"} {
			mustNil(t, s.CreateUser(c, store.User{Name: n, PasswordHash: []byte("h")}))
		}
		list, err = s.ListUsers(c)
		mustNil(t, err)
		var names []string
		for _, u := range list {
			names = append(names, u.Name)
		}
		if !reflect.DeepEqual(names, []string{"alice", "bob", "carol"}) {
			t.Errorf("ListUsers = %v, want sorted by name", names)
		}
	}},
	{"UserLabelsNilVsEmpty", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		mustNil(t, s.CreateUser(c, store.User{Name: "nil", PasswordHash: []byte("h")}))
		mustNil(t, s.CreateUser(c, store.User{Name: "empty", PasswordHash: []byte("h"), Labels: map[string][]string{}}))
		mustNil(t, s.CreateUser(c, store.User{Name: "full", PasswordHash: []byte("h"),
			Labels: map[string][]string{"a": {"1"}, "b": {}, "c": {"x", "y", "ünï"}}}))
		u, err := s.GetUser(c, "nil")
		mustNil(t, err)
		if u.Labels != nil {
			t.Errorf("nil labels came back as %#v", u.Labels)
		}
		u, err = s.GetUser(c, "empty")
		mustNil(t, err)
		if u.Labels == nil || len(u.Labels) != 0 {
			t.Errorf("empty labels came back as %#v", u.Labels)
		}
		u, err = s.GetUser(c, "full")
		mustNil(t, err)
		want := map[string][]string{"a": {"1"}, "b": {}, "c": {"x", "y", "ünï"}}
		if !reflect.DeepEqual(u.Labels, want) {
			t.Errorf("labels = %#v, want %#v", u.Labels, want)
		}
	}},
	{"UserUpdate", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		// Another administrator, so that disabling u below is allowed.
		mustNil(t, s.CreateUser(c, store.User{Name: "other", PasswordHash: []byte("h"), Admin: true}))
		mustNil(t, s.CreateUser(c, store.User{Name: "u", PasswordHash: []byte("old"),
			Labels: map[string][]string{"team": {"a"}}}))
		before, err := s.GetUser(c, "u")
		mustNil(t, err)

		clk.Advance(time.Minute)
		got, err := s.UpdateUser(c, "u", store.UserUpdate{Admin: ptr(true)})
		mustNil(t, err)
		if !got.Admin || got.Disabled || string(got.PasswordHash) != "old" {
			t.Errorf("after admin update: %+v", got)
		}
		if !reflect.DeepEqual(got.Labels, before.Labels) {
			t.Errorf("nil Labels in update changed labels to %v", got.Labels)
		}
		if got.Generation != before.Generation+1 {
			t.Errorf("generation %d -> %d, want +1", before.Generation, got.Generation)
		}
		sameTime(t, "UpdatedAt", got.UpdatedAt, clk.Now())
		sameTime(t, "CreatedAt", got.CreatedAt, before.CreatedAt)
		stored, err := s.GetUser(c, "u")
		mustNil(t, err)
		if !reflect.DeepEqual(stored, got) {
			t.Errorf("UpdateUser returned %+v, GetUser says %+v", got, stored)
		}

		got, err = s.UpdateUser(c, "u", store.UserUpdate{Disabled: ptr(true), PasswordHash: []byte("new")})
		mustNil(t, err)
		if !got.Disabled || !got.Admin || string(got.PasswordHash) != "new" || got.Generation != before.Generation+2 {
			t.Errorf("after disable+password: %+v", got)
		}
		got, err = s.UpdateUser(c, "u", store.UserUpdate{Labels: map[string][]string{"x": {"y"}}})
		mustNil(t, err)
		if !reflect.DeepEqual(got.Labels, map[string][]string{"x": {"y"}}) || got.Generation != before.Generation+3 {
			t.Errorf("after labels: %+v", got)
		}
		got, err = s.UpdateUser(c, "u", store.UserUpdate{Labels: map[string][]string{}})
		mustNil(t, err)
		if len(got.Labels) != 0 {
			t.Errorf("empty Labels did not clear: %v", got.Labels)
		}
		got, err = s.UpdateUser(c, "u", store.UserUpdate{Admin: ptr(false), Disabled: ptr(false)})
		mustNil(t, err)
		if got.Admin || got.Disabled {
			t.Errorf("flags not cleared: %+v", got)
		}
		_, err = s.UpdateUser(c, "nobody", store.UserUpdate{Admin: ptr(true)})
		mustIs(t, err, store.ErrNotFound)
	}},
	{"UserPasswordChangeDeletesRefreshTokens", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		for _, n := range []string{"u", "other"} {
			mustNil(t, s.CreateUser(c, store.User{Name: n, PasswordHash: []byte("h")}))
			mustNil(t, s.CreateRefreshToken(c, store.RefreshToken{ID: "r-" + n, User: n, ClientID: "docker", Hash: hash("r-" + n)}))
		}
		// A change that is not a password change keeps them.
		_, err := s.UpdateUser(c, "u", store.UserUpdate{Admin: ptr(true)})
		mustNil(t, err)
		if _, err := s.GetRefreshTokenByHash(c, hash("r-u")); err != nil {
			t.Fatalf("refresh token lost on admin change: %v", err)
		}
		_, err = s.UpdateUser(c, "u", store.UserUpdate{PasswordHash: []byte("new")})
		mustNil(t, err)
		_, err = s.GetRefreshTokenByHash(c, hash("r-u"))
		mustIs(t, err, store.ErrNotFound)
		list, err := s.ListRefreshTokens(c, "u")
		mustNil(t, err)
		if len(list) != 0 {
			t.Errorf("%d refresh tokens left after password change", len(list))
		}
		if _, err := s.GetRefreshTokenByHash(c, hash("r-other")); err != nil {
			t.Errorf("another user's refresh token was deleted: %v", err)
		}
	}},
	{"UserDeleteCascades", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		for _, n := range []string{"u", "other"} {
			mustNil(t, s.CreateUser(c, store.User{Name: n, PasswordHash: []byte("h")}))
			mustNil(t, s.CreateAppToken(c, store.AppToken{User: n, Name: "ci", Hash: hash("a-" + n)}, 5))
			mustNil(t, s.CreateRefreshToken(c, store.RefreshToken{ID: "r-" + n, User: n, ClientID: "docker", Hash: hash("r-" + n)}))
		}
		mustNil(t, s.DeleteUser(c, "u"))
		_, err := s.GetUser(c, "u")
		mustIs(t, err, store.ErrNotFound)
		_, err = s.GetAppTokenByHash(c, hash("a-u"))
		mustIs(t, err, store.ErrNotFound)
		_, err = s.GetRefreshTokenByHash(c, hash("r-u"))
		mustIs(t, err, store.ErrNotFound)
		for _, h := range [][]byte{hash("a-other")} {
			if _, err := s.GetAppTokenByHash(c, h); err != nil {
				t.Errorf("other user's app token: %v", err)
			}
		}
		if _, err := s.GetRefreshTokenByHash(c, hash("r-other")); err != nil {
			t.Errorf("other user's refresh token: %v", err)
		}
		mustIs(t, s.DeleteUser(c, "u"), store.ErrNotFound)
		// The name is free again, with nothing inherited.
		mustNil(t, s.CreateUser(c, store.User{Name: "u", PasswordHash: []byte("h")}))
		list, err := s.ListAppTokens(c, "u")
		mustNil(t, err)
		if len(list) != 0 {
			t.Errorf("recreated user inherited %d app tokens", len(list))
		}
	}},
	{"UserCountAdmins", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		n, err := s.CountAdmins(c)
		mustNil(t, err)
		if n != 0 {
			t.Fatalf("empty store: %d admins", n)
		}
		mustNil(t, s.CreateUser(c, store.User{Name: "a", PasswordHash: []byte("h"), Admin: true}))
		mustNil(t, s.CreateUser(c, store.User{Name: "b", PasswordHash: []byte("h"), Admin: true}))
		mustNil(t, s.CreateUser(c, store.User{Name: "c", PasswordHash: []byte("h")}))
		// A disabled admin cannot administer anything: not counted.
		mustNil(t, s.CreateUser(c, store.User{Name: "d", PasswordHash: []byte("h"), Admin: true, Disabled: true}))
		n, err = s.CountAdmins(c)
		mustNil(t, err)
		if n != 2 {
			t.Errorf("CountAdmins = %d, want 2", n)
		}
		_, err = s.UpdateUser(c, "b", store.UserUpdate{Admin: ptr(false)})
		mustNil(t, err)
		n, err = s.CountAdmins(c)
		mustNil(t, err)
		if n != 1 {
			t.Errorf("CountAdmins = %d, want 1", n)
		}
	}},
	{"UserLastAdminKept", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		mustNil(t, s.CreateUser(c, store.User{Name: "root", PasswordHash: []byte("h"), Admin: true}))
		mustNil(t, s.CreateUser(c, store.User{Name: "off", PasswordHash: []byte("h"), Admin: true, Disabled: true}))
		mustNil(t, s.CreateUser(c, store.User{Name: "u", PasswordHash: []byte("h")}))
		before, err := s.GetUser(c, "root")
		mustNil(t, err)
		_, err = s.UpdateUser(c, "root", store.UserUpdate{Disabled: ptr(true)})
		mustIs(t, err, store.ErrLastAdmin)
		_, err = s.UpdateUser(c, "root", store.UserUpdate{Admin: ptr(false)})
		mustIs(t, err, store.ErrLastAdmin)
		mustIs(t, s.DeleteUser(c, "root"), store.ErrLastAdmin)
		// Refused changes change nothing.
		u, err := s.GetUser(c, "root")
		mustNil(t, err)
		if !u.Admin || u.Disabled || u.Generation != before.Generation {
			t.Errorf("after refused changes: admin=%v disabled=%v generation=%d", u.Admin, u.Disabled, u.Generation)
		}
		// Changes that keep the role, and changes to other users, pass.
		_, err = s.UpdateUser(c, "root", store.UserUpdate{PasswordHash: []byte("h2"), Admin: ptr(true), Disabled: ptr(false)})
		mustNil(t, err)
		_, err = s.UpdateUser(c, "u", store.UserUpdate{Disabled: ptr(true)})
		mustNil(t, err)
		mustNil(t, s.DeleteUser(c, "off"))
		mustNil(t, s.DeleteUser(c, "u"))
		// With a second administrator, the first may go.
		mustNil(t, s.CreateUser(c, store.User{Name: "root2", PasswordHash: []byte("h"), Admin: true}))
		mustNil(t, s.DeleteUser(c, "root"))
		mustIs(t, s.DeleteUser(c, "root2"), store.ErrLastAdmin)
	}},
}
