package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portcullis/portcullis/internal/store"
)

const refreshCols = "id, user_name, client_id, hash, created_at, expires_at, last_used_at, last_used_addr"

func scanRefresh(r pgx.Row) (store.RefreshToken, error) {
	var (
		t             store.RefreshToken
		created       time.Time
		expires, used *time.Time
	)
	if err := r.Scan(&t.ID, &t.User, &t.ClientID, &t.Hash, &created, &expires, &used, &t.LastUsedAddr); err != nil {
		return store.RefreshToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = created.UTC(), fromTS(expires), fromTS(used)
	return t, nil
}

// CreateRefreshToken stores t; a zero CreatedAt is now. In the same
// transaction, under a per-user advisory lock, it deletes the user's
// expired refresh tokens and, at store.MaxRefreshTokensPerUser, the least
// recently used ones.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := errors.Join(checkName("refresh token id", t.ID), checkName("user", t.User),
		checkHash(t.Hash), checkLen("client id", t.ClientID), checkLen("last used address", t.LastUsedAddr)); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey("refresh", t.User)); err != nil {
			return err
		}
		if err := lockUserTokens(ctx, tx, "refresh_tokens", t.User); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM refresh_tokens WHERE user_name = $1 AND expires_at IS NOT NULL AND expires_at <= $2",
			t.User, utc(s.now())); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM refresh_tokens WHERE id IN (
			SELECT id FROM refresh_tokens WHERE user_name = $1
			ORDER BY COALESCE(last_used_at, created_at), id COLLATE "C"
			LIMIT GREATEST(0, (SELECT COUNT(*) FROM refresh_tokens WHERE user_name = $1) - $2))`,
			t.User, store.MaxRefreshTokensPerUser-1); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO refresh_tokens ("+refreshCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			t.ID, t.User, t.ClientID, t.Hash, utc(created), ts(t.ExpiresAt), ts(t.LastUsedAt), t.LastUsedAddr)
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
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if checkHash(hash) != nil {
		return store.RefreshToken{}, fmt.Errorf("refresh token: %w", store.ErrNotFound)
	}
	t, err := scanRefresh(s.pool.QueryRow(ctx, "SELECT "+refreshCols+" FROM refresh_tokens WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
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
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(user) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT "+refreshCols+` FROM refresh_tokens WHERE ($1 = '' OR user_name = $1)
		ORDER BY created_at, id COLLATE "C"`, user)
	if err != nil {
		return nil, fmt.Errorf("list refresh tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.RefreshToken, error) { return scanRefresh(r) })
	if err != nil {
		return nil, fmt.Errorf("list refresh tokens: %w", err)
	}
	return out, nil
}

// DeleteRefreshToken revokes one of user's refresh tokens.
func (s *Store) DeleteRefreshToken(ctx context.Context, user, id string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(user, id) {
		return fmt.Errorf("refresh token %q of %q: %w", id, user, store.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM refresh_tokens WHERE user_name = $1 AND id = $2", user, id)
	if err != nil {
		return fmt.Errorf("delete refresh token %q: %w", id, err)
	}
	return rowsOne(tag, fmt.Errorf("refresh token %q of %q: %w", id, user, store.ErrNotFound))
}

// DeleteRefreshTokens revokes all of user's refresh tokens.
func (s *Store) DeleteRefreshTokens(ctx context.Context, user string) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(user) {
		return 0, nil
	}
	var n int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := lockUserTokens(ctx, tx, "refresh_tokens", user); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "DELETE FROM refresh_tokens WHERE user_name = $1", user)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete refresh tokens of %q: %w", user, err)
	}
	return int(n), nil
}

// TouchRefreshTokens records last uses in one transaction.
func (s *Store) TouchRefreshTokens(ctx context.Context, uses []store.Usage) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.touch(ctx, "refresh_tokens", true, uses)
}
