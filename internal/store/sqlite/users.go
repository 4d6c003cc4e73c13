package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/internal/store"
)

const userCols = "name, password_hash, admin, disabled, labels, created_at, updated_at, generation"

func scanUser(r scanner) (store.User, error) {
	var (
		u                store.User
		admin, disabled  int64
		labels           sql.NullString
		created, updated sql.NullInt64
	)
	if err := r.Scan(&u.Name, &u.PasswordHash, &admin, &disabled, &labels, &created, &updated, &u.Generation); err != nil {
		return store.User{}, err
	}
	u.Admin, u.Disabled = admin == 1, disabled == 1
	u.CreatedAt, u.UpdatedAt = fromTS(created), fromTS(updated)
	var err error
	u.Labels, err = decodeLabels(labels)
	return u, err
}

// CreateUser stores a new user at generation 1; a zero CreatedAt is now.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := checkName("user name", u.Name); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	labels, err := encodeLabels(u.Labels)
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	created := u.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	updated := u.UpdatedAt
	if updated.IsZero() {
		updated = created
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO users ("+userCols+") VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
			u.Name, nonNil(u.PasswordHash), boolInt(u.Admin), boolInt(u.Disabled), labels, ts(created), ts(updated))
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("create user %q: %w", u.Name, store.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	return nil
}

// nonNil keeps a nil password hash from becoming NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// GetUser returns one user.
func (s *Store) GetUser(ctx context.Context, name string) (store.User, error) {
	u, err := scanUser(s.stmts.userByName.QueryRowContext(ctx, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("get user %q: %w", name, err)
	}
	return u, nil
}

// ListUsers returns every user, by name.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+userCols+" FROM users ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser applies upd, bumps the generation and, on a password change,
// deletes the user's refresh tokens, all in one transaction.
func (s *Store) UpdateUser(ctx context.Context, name string, upd store.UserUpdate) (store.User, error) {
	var out store.User
	err := s.write(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE name = ?", name))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %q: %w", name, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if dropsAdmin(u, upd) {
			if err := keepsAdmin(ctx, tx, name); err != nil {
				return err
			}
		}
		if upd.PasswordHash != nil {
			u.PasswordHash = upd.PasswordHash
			if _, err := tx.ExecContext(ctx, "DELETE FROM refresh_tokens WHERE user_name = ?", name); err != nil {
				return err
			}
		}
		if upd.Admin != nil {
			u.Admin = *upd.Admin
		}
		if upd.Disabled != nil {
			u.Disabled = *upd.Disabled
		}
		if upd.Labels != nil {
			u.Labels = upd.Labels
		}
		labels, err := encodeLabels(u.Labels)
		if err != nil {
			return err
		}
		u.UpdatedAt = utc(s.now())
		u.Generation++
		_, err = tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, admin = ?, disabled = ?, labels = ?,
			updated_at = ?, generation = ? WHERE name = ?`,
			u.PasswordHash, boolInt(u.Admin), boolInt(u.Disabled), labels, ts(u.UpdatedAt), u.Generation, name)
		if err != nil {
			return err
		}
		// Return what a later GetUser will read (labels decoded afresh).
		u.Labels, err = decodeLabels(labels)
		out = u
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrLastAdmin) {
			return store.User{}, err
		}
		return store.User{}, fmt.Errorf("update user %q: %w", name, err)
	}
	return out, nil
}

// DeleteUser removes the user and their app and refresh tokens.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := keepsAdmin(ctx, tx, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM users WHERE name = ?", name)
		if err != nil {
			return err
		}
		if err := rowsOne(res, fmt.Errorf("user %q: %w", name, store.ErrNotFound)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM app_tokens WHERE user_name = ?", name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM refresh_tokens WHERE user_name = ?", name)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrLastAdmin) {
		return fmt.Errorf("delete user %q: %w", name, err)
	}
	return err
}

// dropsAdmin reports whether upd takes u, an enabled administrator, out
// of that role.
func dropsAdmin(u store.User, upd store.UserUpdate) bool {
	if !u.Admin || u.Disabled {
		return false
	}
	return (upd.Admin != nil && !*upd.Admin) || (upd.Disabled != nil && *upd.Disabled)
}

// keepsAdmin returns ErrLastAdmin when name is the only enabled
// administrator. Writers are serialized (writeSem within the process, the
// database's write lock across processes: a transaction whose read went
// stale fails to commit), so the answer holds until commit.
func keepsAdmin(ctx context.Context, tx *sql.Tx, name string) error {
	rows, err := tx.QueryContext(ctx, "SELECT name FROM users WHERE admin = 1 AND disabled = 0 LIMIT 2")
	if err != nil {
		return err
	}
	defer rows.Close()
	var admins []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		admins = append(admins, n)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(admins) == 1 && admins[0] == name {
		return fmt.Errorf("user %q: %w", name, store.ErrLastAdmin)
	}
	return nil
}

// CountAdmins counts enabled administrators: a disabled admin cannot act,
// so callers guarding "the last admin" must not count them.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE admin = 1 AND disabled = 0").Scan(&n); err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return n, nil
}
