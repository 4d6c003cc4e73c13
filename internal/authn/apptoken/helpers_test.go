package apptoken

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/internal/authn/dbuser"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "portcullis.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func addUser(t *testing.T, st store.UserStore, name string) {
	t.Helper()
	h, err := dbuser.HashPassword("password-of-"+name, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(context.Background(), store.User{Name: name, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
}
