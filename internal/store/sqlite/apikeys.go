package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/internal/store"
)

const apiKeyCols = "id, secret, groups, created_at"

func scanAPIKey(r scanner) (store.APIKey, error) {
	var (
		k       store.APIKey
		groups  string
		created sql.NullInt64
	)
	if err := r.Scan(&k.ID, &k.Secret, &groups, &created); err != nil {
		return store.APIKey{}, err
	}
	k.CreatedAt = fromTS(created)
	var err error
	k.Groups, err = decodeList(groups)
	return k, err
}

// CreateAPIKey stores k; a zero CreatedAt is now.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
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
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO api_keys ("+apiKeyCols+") VALUES (?, ?, ?, ?)",
			k.ID, k.Secret, groups, ts(created))
		return err
	})
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
	k, err := scanAPIKey(s.stmts.apiKeyByID.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, fmt.Errorf("api key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("get api key %q: %w", id, err)
	}
	return k, nil
}

// ListAPIKeys lists every key, by id.
func (s *Store) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+apiKeyCols+" FROM api_keys ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// DeleteAPIKey removes key id.
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	notFound := fmt.Errorf("api key %q: %w", id, store.ErrNotFound)
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM api_keys WHERE id = ?", id)
		if err != nil {
			return err
		}
		return rowsOne(res, notFound)
	})
	if err != nil && err != notFound {
		return fmt.Errorf("delete api key %q: %w", id, err)
	}
	return err
}
