package dbuser

import (
	"context"
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/internal/store"
)

// ErrLastAdmin is returned when a change would leave no enabled
// administrator, locking everyone out of user management.
var ErrLastAdmin = errors.New("this is the last enabled administrator; make another user an administrator first")

// CheckKeepsAdmin returns ErrLastAdmin when removing, disabling or
// demoting user name would leave the store without an enabled admin.
// remove reports a deletion; otherwise admin and disabled are the new
// values (nil = unchanged).
func CheckKeepsAdmin(ctx context.Context, st store.UserStore, name string, remove bool, admin, disabled *bool) error {
	u, err := st.GetUser(ctx, name)
	if err != nil {
		return err
	}
	if !u.Admin || u.Disabled {
		return nil // not an enabled admin now: nothing to lose
	}
	stays := !remove && (admin == nil || *admin) && (disabled == nil || !*disabled)
	if stays {
		return nil
	}
	n, err := st.CountAdmins(ctx)
	if err != nil {
		return fmt.Errorf("count administrators: %w", err)
	}
	if n <= 1 {
		return ErrLastAdmin
	}
	return nil
}
