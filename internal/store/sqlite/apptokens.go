package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/internal/store"
)

const appTokenCols = "user_name, name, hash, scopes, created_at, expires_at, last_used_at, last_used_addr"

func scanAppToken(r scanner) (store.AppToken, error) {
	var (
		t                      store.AppToken
		scopes                 string
		created, expires, used sql.NullInt64
	)
	if err := r.Scan(&t.User, &t.Name, &t.Hash, &scopes, &created, &expires, &used, &t.LastUsedAddr); err != nil {
		return store.AppToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = fromTS(created), fromTS(expires), fromTS(used)
	var err error
	t.Scopes, err = decodeList(scopes)
	return t, err
}

// CreateAppToken stores t unless its user already holds max tokens (max
// <= 0 means no cap). Counting and inserting happen in one IMMEDIATE
// transaction, so concurrent creations cannot overshoot the cap.
func (s *Store) CreateAppToken(ctx context.Context, t store.AppToken, max int) error {
	if err := errors.Join(checkName("user", t.User), checkName("token name", t.Name), checkHash(t.Hash),
		checkLen("last used address", t.LastUsedAddr)); err != nil {
		return fmt.Errorf("create app token: %w", err)
	}
	scopes, err := encodeList(t.Scopes)
	if err != nil {
		return fmt.Errorf("create app token %s/%s: scopes: %w", t.User, t.Name, err)
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if max > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM app_tokens WHERE user_name = ?", t.User).Scan(&n); err != nil {
				return err
			}
			if n >= max {
				return fmt.Errorf("user %q has %d app tokens: %w", t.User, n, store.ErrLimitReached)
			}
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO app_tokens ("+appTokenCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			t.User, t.Name, t.Hash, scopes, ts(created), ts(t.ExpiresAt), ts(t.LastUsedAt), t.LastUsedAddr)
		return err
	})
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return fmt.Errorf("create app token %s/%s: %w", t.User, t.Name, store.ErrAlreadyExists)
	case errors.Is(err, store.ErrLimitReached):
		return err
	default:
		return fmt.Errorf("create app token %s/%s: %w", t.User, t.Name, err)
	}
}

// GetAppTokenByHash looks a token up by the SHA-256 of its secret (unique
// index: one B-tree probe).
func (s *Store) GetAppTokenByHash(ctx context.Context, hash []byte) (store.AppToken, error) {
	if checkHash(hash) != nil {
		return store.AppToken{}, fmt.Errorf("app token: %w", store.ErrNotFound)
	}
	t, err := scanAppToken(s.stmts.appTokenByHash.QueryRowContext(ctx, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.AppToken{}, fmt.Errorf("app token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.AppToken{}, fmt.Errorf("get app token: %w", err)
	}
	return t, nil
}

// ListAppTokens lists one user's tokens, or everyone's for user "", by
// user then name.
func (s *Store) ListAppTokens(ctx context.Context, user string) ([]store.AppToken, error) {
	q := "SELECT " + appTokenCols + " FROM app_tokens"
	var args []any
	if user != "" {
		q += " WHERE user_name = ?"
		args = append(args, user)
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY user_name, name", args...)
	if err != nil {
		return nil, fmt.Errorf("list app tokens: %w", err)
	}
	defer rows.Close()
	var out []store.AppToken
	for rows.Next() {
		t, err := scanAppToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list app tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list app tokens: %w", err)
	}
	return out, nil
}

// DeleteAppToken revokes one of user's tokens.
func (s *Store) DeleteAppToken(ctx context.Context, user, name string) error {
	notFound := fmt.Errorf("app token %s/%s: %w", user, name, store.ErrNotFound)
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM app_tokens WHERE user_name = ? AND name = ?", user, name)
		if err != nil {
			return err
		}
		return rowsOne(res, notFound)
	})
	if err != nil && err != notFound {
		return fmt.Errorf("delete app token %s/%s: %w", user, name, err)
	}
	return err
}

// TouchAppTokens records last uses in one transaction; an older use never
// replaces a newer one.
func (s *Store) TouchAppTokens(ctx context.Context, uses []store.Usage) error {
	return s.touch(ctx, "app_tokens", true, uses)
}

// touch is the batch "last used" update shared by the token tables.
func (s *Store) touch(ctx context.Context, table string, withAddr bool, uses []store.Usage) error {
	if len(uses) == 0 {
		return nil
	}
	q := "UPDATE " + table + " SET last_used_at = ?1"
	if withAddr {
		q += ", last_used_addr = ?2"
	}
	q += " WHERE hash = ?3 AND (last_used_at IS NULL OR last_used_at < ?1)"
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, u := range uses {
			if checkHash(u.Hash) != nil || u.At.IsZero() {
				continue
			}
			addr := u.Addr
			if len(addr) > maxNameLen || checkText("address", addr) != nil {
				addr = "" // informational only: never fail a batch for it
			}
			if _, err := stmt.ExecContext(ctx, u.At.UnixMicro(), addr, u.Hash); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("touch %s: %w", table, err)
	}
	return nil
}
