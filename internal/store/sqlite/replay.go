package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ClaimOnce records key until expires. One upsert decides atomically: the
// row is inserted, or an expired row is taken over, or nothing changes and
// the key is a replay.
func (s *Store) ClaimOnce(ctx context.Context, key string, expires time.Time) (bool, error) {
	if key == "" || len(key) > maxKeyLen {
		return false, errors.New("claim once: key must be 1 to 512 bytes")
	}
	if err := checkText("key", key); err != nil {
		return false, fmt.Errorf("claim once: %w", err)
	}
	var claimed bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO replay_keys (key, expires_at) VALUES (?1, ?2)
			ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
			WHERE replay_keys.expires_at <= ?3`,
			key, expires.UnixMicro(), s.now().UnixMicro())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim once: %w", err)
	}
	return claimed, nil
}

// PurgeExpired deletes replay keys whose expiry has passed.
func (s *Store) PurgeExpired(ctx context.Context) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM replay_keys WHERE expires_at <= ?", s.now().UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("purge replay keys: %w", err)
	}
	return nil
}
