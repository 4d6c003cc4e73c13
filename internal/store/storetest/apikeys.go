package storetest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/store"
)

var apiKeyCases = []testCase{
	{"APIKeyCRUD", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		secret := strings.Repeat("0123456789abcdef", 4)
		mustNil(t, s.CreateAPIKey(c, store.APIKey{ID: "003", Secret: secret, Groups: []string{"stats", "watcher"}}))
		got, err := s.GetAPIKey(c, "003")
		mustNil(t, err)
		if got.ID != "003" || got.Secret != secret || !reflect.DeepEqual(got.Groups, []string{"stats", "watcher"}) {
			t.Errorf("got %+v", got)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, clk.Now())
		mustIs(t, s.CreateAPIKey(c, store.APIKey{ID: "003", Secret: secret}), store.ErrAlreadyExists)
		_, err = s.GetAPIKey(c, "004")
		mustIs(t, err, store.ErrNotFound)

		mustNil(t, s.CreateAPIKey(c, store.APIKey{ID: "001", Secret: secret}))
		got, err = s.GetAPIKey(c, "001")
		mustNil(t, err)
		if len(got.Groups) != 0 {
			t.Errorf("groups = %v, want none", got.Groups)
		}
		list, err := s.ListAPIKeys(c)
		mustNil(t, err)
		var ids []string
		for _, k := range list {
			ids = append(ids, k.ID)
		}
		if !reflect.DeepEqual(ids, []string{"001", "003"}) {
			t.Errorf("ListAPIKeys = %v", ids)
		}
		mustNil(t, s.DeleteAPIKey(c, "001"))
		mustIs(t, s.DeleteAPIKey(c, "001"), store.ErrNotFound)
		_, err = s.GetAPIKey(c, "001")
		mustIs(t, err, store.ErrNotFound)
	}},
}
