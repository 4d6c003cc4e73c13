package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/internal/store"
)

const refreshCols = "id, user_name, client_id, hash, created_at, expires_at, last_used_at, last_used_addr"

func scanRefresh(r scanner) (store.RefreshToken, error) {
	var (
		t                      store.RefreshToken
		created, expires, used sql.NullInt64
	)
	if err := r.Scan(&t.ID, &t.User, &t.ClientID, &t.Hash, &created, &expires, &used, &t.LastUsedAddr); err != nil {
		return store.RefreshToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = fromTS(created), fromTS(expires), fromTS(used)
	return t, nil
}

// CreateRefreshToken stores t; a zero CreatedAt is now. In the same
// transaction it deletes the user's expired refresh tokens and, at
// store.MaxRefreshTokensPerUser, the least recently used ones.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if err := errors.Join(checkName("refresh token id", t.ID), checkName("user", t.User),
		checkHash(t.Hash), checkLen("client id", t.ClientID), checkLen("last used address", t.LastUsedAddr)); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM refresh_tokens WHERE user_name = ? AND expires_at IS NOT NULL AND expires_at <= ?",
			t.User, s.now().UnixMicro()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE id IN (
			SELECT id FROM refresh_tokens WHERE user_name = ?1
			ORDER BY COALESCE(last_used_at, created_at), id
			LIMIT MAX(0, (SELECT COUNT(*) FROM refresh_tokens WHERE user_name = ?1) - ?2))`,
			t.User, store.MaxRefreshTokensPerUser-1); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO refresh_tokens ("+refreshCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.User, t.ClientID, t.Hash, ts(created), ts(t.ExpiresAt), ts(t.LastUsedAt), t.LastUsedAddr)
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("create refresh token %q: %w", t.ID, store.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("create refresh token %q: %w", t.ID, err)
	}
	return nil
}

// GetRefreshTokenByHash looks a refresh token up by its secret's SHA-256.
func (s *Store) GetRefreshTokenByHash(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	if checkHash(hash) != nil {
		return store.RefreshToken{}, fmt.Errorf("refresh token: %w", store.ErrNotFound)
	}
	t, err := scanRefresh(s.stmts.refreshTokenByHash.QueryRowContext(ctx, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.RefreshToken{}, fmt.Errorf("refresh token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", err)
	}
	return t, nil
}

// ListRefreshTokens lists one user's refresh tokens (everyone's for ""),
// oldest first.
func (s *Store) ListRefreshTokens(ctx context.Context, user string) ([]store.RefreshToken, error) {
	q := "SELECT " + refreshCols + " FROM refresh_tokens"
	var args []any
	if user != "" {
		q += " WHERE user_name = ?"
		args = append(args, user)
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("list refresh tokens: %w", err)
	}
	defer rows.Close()
	var out []store.RefreshToken
	for rows.Next() {
		t, err := scanRefresh(rows)
		if err != nil {
			return nil, fmt.Errorf("list refresh tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list refresh tokens: %w", err)
	}
	return out, nil
}

// DeleteRefreshToken revokes one of user's refresh tokens.
func (s *Store) DeleteRefreshToken(ctx context.Context, user, id string) error {
	notFound := fmt.Errorf("refresh token %q of %q: %w", id, user, store.ErrNotFound)
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM refresh_tokens WHERE user_name = ? AND id = ?", user, id)
		if err != nil {
			return err
		}
		return rowsOne(res, notFound)
	})
	if err != nil && err != notFound {
		return fmt.Errorf("delete refresh token %q: %w", id, err)
	}
	return err
}

// DeleteRefreshTokens revokes all of user's refresh tokens.
func (s *Store) DeleteRefreshTokens(ctx context.Context, user string) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM refresh_tokens WHERE user_name = ?", user)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete refresh tokens of %q: %w", user, err)
	}
	return int(n), nil
}

// TouchRefreshTokens records last uses in one transaction.
func (s *Store) TouchRefreshTokens(ctx context.Context, uses []store.Usage) error {
	return s.touch(ctx, "refresh_tokens", true, uses)
}
