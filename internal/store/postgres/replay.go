package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ClaimOnce records key until expires. INSERT ... ON CONFLICT DO UPDATE is
// atomic even under READ COMMITTED: of concurrent claims of one key,
// exactly one inserts (or takes over an expired row); the others see the
// fresh row and change nothing.
func (s *Store) ClaimOnce(ctx context.Context, key string, expires time.Time) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if key == "" || len(key) > maxKeyLen {
		return false, errors.New("claim once: key must be 1 to 512 bytes")
	}
	if err := checkText("key", key); err != nil {
		return false, fmt.Errorf("claim once: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO replay_keys (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE replay_keys.expires_at <= $3`,
		key, utc(expires), utc(s.now()))
	if err != nil {
		return false, fmt.Errorf("claim once: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PurgeExpired deletes replay keys whose expiry has passed.
func (s *Store) PurgeExpired(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, "DELETE FROM replay_keys WHERE expires_at <= $1", utc(s.now())); err != nil {
		return fmt.Errorf("purge replay keys: %w", err)
	}
	return nil
}
