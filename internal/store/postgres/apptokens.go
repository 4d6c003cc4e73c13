package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portcullis/portcullis/internal/store"
)

const appTokenCols = "user_name, name, hash, scopes::text, created_at, expires_at, last_used_at, last_used_addr"

func scanAppToken(r pgx.Row) (store.AppToken, error) {
	var (
		t             store.AppToken
		scopes        string
		created       time.Time
		expires, used *time.Time
	)
	if err := r.Scan(&t.User, &t.Name, &t.Hash, &scopes, &created, &expires, &used, &t.LastUsedAddr); err != nil {
		return store.AppToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = created.UTC(), fromTS(expires), fromTS(used)
	var err error
	t.Scopes, err = decodeList(scopes)
	return t, err
}

// CreateAppToken stores t unless its user already holds max tokens (max
// <= 0 means no cap). A per-user advisory lock makes count-then-insert
// atomic across connections and instances, even for users without a row.
func (s *Store) CreateAppToken(ctx context.Context, t store.AppToken, max int) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
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
	err = s.write(ctx, func(tx pgx.Tx) error {
		if max > 0 {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey("apptoken", t.User)); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM app_tokens WHERE user_name = $1", t.User).Scan(&n); err != nil {
				return err
			}
			if n >= max {
				return fmt.Errorf("user %q has %d app tokens: %w", t.User, n, store.ErrLimitReached)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO app_tokens (user_name, name, hash, scopes, created_at, expires_at, last_used_at, last_used_addr)
			VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)`,
			t.User, t.Name, t.Hash, scopes, utc(created), ts(t.ExpiresAt), ts(t.LastUsedAt), t.LastUsedAddr)
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
// index).
func (s *Store) GetAppTokenByHash(ctx context.Context, hash []byte) (store.AppToken, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if checkHash(hash) != nil {
		return store.AppToken{}, fmt.Errorf("app token: %w", store.ErrNotFound)
	}
	t, err := scanAppToken(s.pool.QueryRow(ctx, "SELECT "+appTokenCols+" FROM app_tokens WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
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
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(user) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT "+appTokenCols+` FROM app_tokens WHERE ($1 = '' OR user_name = $1)
		ORDER BY user_name COLLATE "C", name COLLATE "C"`, user)
	if err != nil {
		return nil, fmt.Errorf("list app tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AppToken, error) { return scanAppToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list app tokens: %w", err)
	}
	return out, nil
}

// DeleteAppToken revokes one of user's tokens.
func (s *Store) DeleteAppToken(ctx context.Context, user, name string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(user, name) {
		return fmt.Errorf("app token %q/%q: %w", user, name, store.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM app_tokens WHERE user_name = $1 AND name = $2", user, name)
	if err != nil {
		return fmt.Errorf("delete app token %s/%s: %w", user, name, err)
	}
	return rowsOne(tag, fmt.Errorf("app token %s/%s: %w", user, name, store.ErrNotFound))
}

// TouchAppTokens records last uses in one transaction; an older use never
// replaces a newer one.
func (s *Store) TouchAppTokens(ctx context.Context, uses []store.Usage) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.touch(ctx, "app_tokens", true, uses)
}

// touch is the batch "last used" update shared by the token tables: one
// transaction, one round trip, rows locked in hash order.
func (s *Store) touch(ctx context.Context, table string, withAddr bool, uses []store.Usage) error {
	uses = dedupUses(uses)
	if len(uses) == 0 {
		return nil
	}
	q := "UPDATE " + table + " SET last_used_at = $1"
	if withAddr {
		q += ", last_used_addr = $3"
	}
	q += " WHERE hash = $2 AND (last_used_at IS NULL OR last_used_at < $1)"
	err := s.write(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, u := range uses {
			if withAddr {
				b.Queue(q, utc(u.At), u.Hash, u.Addr)
			} else {
				b.Queue(q, utc(u.At), u.Hash)
			}
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("touch %s: %w", table, err)
	}
	return nil
}
