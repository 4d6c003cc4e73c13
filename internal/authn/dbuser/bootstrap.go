package dbuser

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/portcullis/portcullis/internal/store"
)

// BootstrapUser is the name of the administrator created on first start.
const BootstrapUser = "admin"

// Bootstrap creates the administrator "admin" with a random password when
// the store has no enabled administrator. The password is written once to
// out (the terminal of whoever starts the server), never to the log: a
// per-install secret instead of a well-known default.
func Bootstrap(ctx context.Context, st store.UserStore, cost int, out io.Writer) error {
	n, err := st.CountAdmins(ctx)
	if err != nil {
		return fmt.Errorf("count administrators: %w", err)
	}
	if n > 0 {
		return nil
	}
	pw := rand.Text() // 26 base32 characters, 130 bits
	hash, err := HashPassword(pw, cost)
	if err != nil {
		return err
	}
	err = st.CreateUser(ctx, store.User{Name: BootstrapUser, PasswordHash: hash, Admin: true})
	if errors.Is(err, store.ErrAlreadyExists) {
		// Another instance starting at the same moment may have created
		// the administrator since the count: then all is well, and it
		// printed the password.
		if n, err := st.CountAdmins(ctx); err == nil && n > 0 {
			return nil
		}
		// A user "admin" exists but is not an enabled administrator.
		// Promoting it here would hand someone else's account admin
		// rights: say what to do instead.
		fmt.Fprintf(out, "No enabled administrator exists and user %q is taken.\n"+
			"Create one with: portcullis user add NAME --admin\n", BootstrapUser)
		return nil
	}
	if err != nil {
		return fmt.Errorf("create user %s: %w", BootstrapUser, err)
	}
	fmt.Fprintf(out, "Created administrator %q with password:\n\n    %s\n\n"+
		"This password is shown only once. Change it now with: portcullis user passwd %s\n",
		BootstrapUser, pw, BootstrapUser)
	return nil
}
