package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portcullis/portcullis/internal/store"
)

const userCols = "name, password_hash, admin, disabled, labels::text, created_at, updated_at, generation"

func scanUser(r pgx.Row) (store.User, error) {
	var (
		u                store.User
		labels           *string
		created, updated time.Time
	)
	if err := r.Scan(&u.Name, &u.PasswordHash, &u.Admin, &u.Disabled, &labels, &created, &updated, &u.Generation); err != nil {
		return store.User{}, err
	}
	u.CreatedAt, u.UpdatedAt = created.UTC(), updated.UTC()
	var err error
	u.Labels, err = decodeLabels(labels)
	return u, err
}

// nonNil keeps a nil password hash from becoming NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// CreateUser stores a new user at generation 1; a zero CreatedAt is now.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
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
	_, err = s.pool.Exec(ctx, `INSERT INTO users (name, password_hash, admin, disabled, labels, created_at, updated_at, generation)
		VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, 1)`,
		u.Name, nonNil(u.PasswordHash), u.Admin, u.Disabled, labels, utc(created), utc(updated))
	if isUnique(err) {
		return fmt.Errorf("create user %q: %w", u.Name, store.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	return nil
}

// GetUser returns one user.
func (s *Store) GetUser(ctx context.Context, name string) (store.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(name) {
		return store.User{}, fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("get user %q: %w", name, err)
	}
	return u, nil
}

// ListUsers returns every user, by name.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT "+userCols+" FROM users ORDER BY name COLLATE \"C\"")
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser applies upd, bumps the generation and, on a password change,
// deletes the user's refresh tokens, all in one transaction.
func (s *Store) UpdateUser(ctx context.Context, name string, upd store.UserUpdate) (store.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(name) {
		return store.User{}, fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	var out store.User
	err := s.write(ctx, func(tx pgx.Tx) error {
		// Lock the enabled administrators first when the change may take
		// one out of that role, in name order, before the user's own row,
		// so concurrent changes queue instead of deadlocking.
		if (upd.Admin != nil && !*upd.Admin) || (upd.Disabled != nil && *upd.Disabled) {
			if err := keepsAdmin(ctx, tx, name); err != nil {
				return err
			}
		}
		u, err := scanUser(tx.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE name = $1 FOR UPDATE", name))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("user %q: %w", name, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if upd.PasswordHash != nil {
			u.PasswordHash = upd.PasswordHash
			if err := lockUserTokens(ctx, tx, "refresh_tokens", name); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "DELETE FROM refresh_tokens WHERE user_name = $1", name); err != nil {
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
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $1, admin = $2, disabled = $3, labels = $4::jsonb,
			updated_at = $5, generation = $6 WHERE name = $7`,
			u.PasswordHash, u.Admin, u.Disabled, labels, u.UpdatedAt, u.Generation, name); err != nil {
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
	ctx, cancel := s.bound(ctx)
	defer cancel()
	notFound := fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	if !storable(name) {
		return notFound
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := keepsAdmin(ctx, tx, name); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "DELETE FROM users WHERE name = $1", name)
		if err != nil {
			return err
		}
		if err := rowsOne(tag, notFound); err != nil {
			return err
		}
		if err := lockUserTokens(ctx, tx, "app_tokens", name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM app_tokens WHERE user_name = $1", name); err != nil {
			return err
		}
		if err := lockUserTokens(ctx, tx, "refresh_tokens", name); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM refresh_tokens WHERE user_name = $1", name)
		return err
	})
	if err != nil && err != notFound && !errors.Is(err, store.ErrLastAdmin) {
		return fmt.Errorf("delete user %q: %w", name, err)
	}
	return err
}

// keepsAdmin locks the rows of the enabled administrators and returns
// ErrLastAdmin when name is the only one. A concurrent transaction taking
// another administrator out waits on these locks and, once this one
// commits, re-reads the rows (READ COMMITTED re-checks a locked row's
// WHERE), so it sees the change and cannot remove the last one too.
func keepsAdmin(ctx context.Context, tx pgx.Tx, name string) error {
	rows, err := tx.Query(ctx, "SELECT name FROM users WHERE admin AND NOT disabled ORDER BY name FOR UPDATE")
	if err != nil {
		return err
	}
	admins, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
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
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE admin AND NOT disabled").Scan(&n); err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return n, nil
}
