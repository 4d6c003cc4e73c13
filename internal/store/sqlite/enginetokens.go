package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/internal/store"
)

const engineCols = "name, hash, policy, created_at, expires_at, last_used_at"

func scanEngine(r scanner) (store.EngineToken, error) {
	var (
		t                      store.EngineToken
		created, expires, used sql.NullInt64
	)
	if err := r.Scan(&t.Name, &t.Hash, &t.Policy, &created, &expires, &used); err != nil {
		return store.EngineToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = fromTS(created), fromTS(expires), fromTS(used)
	return t, nil
}

// CreateEngineToken stores t; a zero CreatedAt is now.
func (s *Store) CreateEngineToken(ctx context.Context, t store.EngineToken) error {
	if err := errors.Join(checkName("engine token name", t.Name), checkHash(t.Hash), checkLen("policy", t.Policy)); err != nil {
		return fmt.Errorf("create engine token: %w", err)
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO engine_tokens ("+engineCols+") VALUES (?, ?, ?, ?, ?, ?)",
			t.Name, t.Hash, t.Policy, ts(created), ts(t.ExpiresAt), ts(t.LastUsedAt))
		return err
	})
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
	if checkHash(hash) != nil {
		return store.EngineToken{}, fmt.Errorf("engine token: %w", store.ErrNotFound)
	}
	t, err := scanEngine(s.stmts.engineTokenByHash.QueryRowContext(ctx, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.EngineToken{}, fmt.Errorf("engine token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.EngineToken{}, fmt.Errorf("get engine token: %w", err)
	}
	return t, nil
}

// ListEngineTokens lists every engine token, by name.
func (s *Store) ListEngineTokens(ctx context.Context) ([]store.EngineToken, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+engineCols+" FROM engine_tokens ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list engine tokens: %w", err)
	}
	defer rows.Close()
	var out []store.EngineToken
	for rows.Next() {
		t, err := scanEngine(rows)
		if err != nil {
			return nil, fmt.Errorf("list engine tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list engine tokens: %w", err)
	}
	return out, nil
}

// ReplaceEngineTokenHash rotates the secret of token name.
func (s *Store) ReplaceEngineTokenHash(ctx context.Context, name string, hash []byte) error {
	if err := checkHash(hash); err != nil {
		return fmt.Errorf("rotate engine token %q: %w", name, err)
	}
	notFound := fmt.Errorf("engine token %q: %w", name, store.ErrNotFound)
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE engine_tokens SET hash = ? WHERE name = ?", hash, name)
		if err != nil {
			return err
		}
		return rowsOne(res, notFound)
	})
	switch {
	case err == nil, err == notFound:
		return err
	case isUnique(err):
		return fmt.Errorf("rotate engine token %q: hash %w", name, store.ErrAlreadyExists)
	default:
		return fmt.Errorf("rotate engine token %q: %w", name, err)
	}
}

// DeleteEngineToken removes token name.
func (s *Store) DeleteEngineToken(ctx context.Context, name string) error {
	notFound := fmt.Errorf("engine token %q: %w", name, store.ErrNotFound)
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM engine_tokens WHERE name = ?", name)
		if err != nil {
			return err
		}
		return rowsOne(res, notFound)
	})
	if err != nil && err != notFound {
		return fmt.Errorf("delete engine token %q: %w", name, err)
	}
	return err
}

// TouchEngineTokens records last uses in one transaction.
func (s *Store) TouchEngineTokens(ctx context.Context, uses []store.Usage) error {
	return s.touch(ctx, "engine_tokens", false, uses)
}
