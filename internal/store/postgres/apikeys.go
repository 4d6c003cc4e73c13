package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portcullis/portcullis/internal/store"
)

const apiKeyCols = "id, secret, groups::text, created_at"

func scanAPIKey(r pgx.Row) (store.APIKey, error) {
	var (
		k       store.APIKey
		groups  string
		created time.Time
	)
	if err := r.Scan(&k.ID, &k.Secret, &groups, &created); err != nil {
		return store.APIKey{}, err
	}
	k.CreatedAt = created.UTC()
	var err error
	k.Groups, err = decodeList(groups)
	return k, err
}

// CreateAPIKey stores k; a zero CreatedAt is now.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := errors.Join(checkName("api key id", k.ID), checkName("api key secret", k.Secret)); err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	groups, err := encodeList(k.Groups)
	if err != nil {
		return fmt.Errorf("create api key %q: groups: %w", k.ID, err)
	}
	created := k.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	_, err = s.pool.Exec(ctx, "INSERT INTO api_keys (id, secret, groups, created_at) VALUES ($1, $2, $3::jsonb, $4)",
		k.ID, k.Secret, groups, utc(created))
	if isUnique(err) {
		return fmt.Errorf("create api key %q: %w", k.ID, store.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("create api key %q: %w", k.ID, err)
	}
	return nil
}

// GetAPIKey returns key id.
func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(id) {
		return store.APIKey{}, fmt.Errorf("api key %q: %w", id, store.ErrNotFound)
	}
	k, err := scanAPIKey(s.pool.QueryRow(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.APIKey{}, fmt.Errorf("api key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("get api key %q: %w", id, err)
	}
	return k, nil
}

// ListAPIKeys lists every key, by id.
func (s *Store) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT "+apiKeyCols+` FROM api_keys ORDER BY id COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.APIKey, error) { return scanAPIKey(r) })
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// DeleteAPIKey removes key id.
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(id) {
		return fmt.Errorf("api key %q: %w", id, store.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM api_keys WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("delete api key %q: %w", id, err)
	}
	return rowsOne(tag, fmt.Errorf("api key %q: %w", id, store.ErrNotFound))
}
