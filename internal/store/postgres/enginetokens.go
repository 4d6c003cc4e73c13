package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portcullis/portcullis/internal/store"
)

const engineCols = "name, hash, policy, created_at, expires_at, last_used_at"

func scanEngine(r pgx.Row) (store.EngineToken, error) {
	var (
		t             store.EngineToken
		created       time.Time
		expires, used *time.Time
	)
	if err := r.Scan(&t.Name, &t.Hash, &t.Policy, &created, &expires, &used); err != nil {
		return store.EngineToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = created.UTC(), fromTS(expires), fromTS(used)
	return t, nil
}

// CreateEngineToken stores t; a zero CreatedAt is now.
func (s *Store) CreateEngineToken(ctx context.Context, t store.EngineToken) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := errors.Join(checkName("engine token name", t.Name), checkHash(t.Hash), checkLen("policy", t.Policy)); err != nil {
		return fmt.Errorf("create engine token: %w", err)
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	_, err := s.pool.Exec(ctx, "INSERT INTO engine_tokens ("+engineCols+") VALUES ($1, $2, $3, $4, $5, $6)",
		t.Name, t.Hash, t.Policy, utc(created), ts(t.ExpiresAt), ts(t.LastUsedAt))
	if isUnique(err) {
		return fmt.Errorf("create engine token %q: %w", t.Name, store.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("create engine token %q: %w", t.Name, err)
	}
	return nil
}

// GetEngineTokenByHash looks an engine token up by its secret's SHA-256.
func (s *Store) GetEngineTokenByHash(ctx context.Context, hash []byte) (store.EngineToken, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if checkHash(hash) != nil {
		return store.EngineToken{}, fmt.Errorf("engine token: %w", store.ErrNotFound)
	}
	t, err := scanEngine(s.pool.QueryRow(ctx, "SELECT "+engineCols+" FROM engine_tokens WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.EngineToken{}, fmt.Errorf("engine token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.EngineToken{}, fmt.Errorf("get engine token: %w", err)
	}
	return t, nil
}

// ListEngineTokens lists every engine token, by name.
func (s *Store) ListEngineTokens(ctx context.Context) ([]store.EngineToken, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT "+engineCols+` FROM engine_tokens ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("list engine tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.EngineToken, error) { return scanEngine(r) })
	if err != nil {
		return nil, fmt.Errorf("list engine tokens: %w", err)
	}
	return out, nil
}

// ReplaceEngineTokenHash rotates the secret of token name.
func (s *Store) ReplaceEngineTokenHash(ctx context.Context, name string, hash []byte) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := checkHash(hash); err != nil {
		return fmt.Errorf("rotate engine token %q: %w", name, err)
	}
	if !storable(name) {
		return fmt.Errorf("engine token %q: %w", name, store.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, "UPDATE engine_tokens SET hash = $1 WHERE name = $2", hash, name)
	if isUnique(err) {
		return fmt.Errorf("rotate engine token %q: hash %w", name, store.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("rotate engine token %q: %w", name, err)
	}
	return rowsOne(tag, fmt.Errorf("engine token %q: %w", name, store.ErrNotFound))
}

// DeleteEngineToken removes token name.
func (s *Store) DeleteEngineToken(ctx context.Context, name string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(name) {
		return fmt.Errorf("engine token %q: %w", name, store.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM engine_tokens WHERE name = $1", name)
	if err != nil {
		return fmt.Errorf("delete engine token %q: %w", name, err)
	}
	return rowsOne(tag, fmt.Errorf("engine token %q: %w", name, store.ErrNotFound))
}

// TouchEngineTokens records last uses in one transaction.
func (s *Store) TouchEngineTokens(ctx context.Context, uses []store.Usage) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.touch(ctx, "engine_tokens", false, uses)
}
