// Package sqlitebench fills a SQLite store with benchmark data, for the
// lookup-scaling benchmark and for scripts/bench's store of a million app
// tokens.
package sqlitebench

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"sort"

	// The driver the store itself uses.
	_ "modernc.org/sqlite"

	"github.com/portcullis/portcullis/internal/store/storetest"
)

// LoadAppTokens adds benchmark tokens 0..n-1 (storetest.BenchToken) to the
// migrated store at path in one transaction, behind the store's back:
// going through CreateAppToken would cost a synced commit per token. The
// row format is the store's own (see ../codec.go).
func LoadAppTokens(ctx context.Context, path string, n int) error {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO app_tokens (user_name, name, hash, scopes, created_at)
		VALUES (?, ?, ?, '["repository:team/app:pull"]', ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	// In hash order, each insert appends to the table's B-tree instead of
	// landing on a random page of it.
	order := make([]int, n)
	hashes := make([][]byte, n)
	for i := range order {
		order[i] = i
		hashes[i] = storetest.BenchHash(i)
	}
	sort.Slice(order, func(a, b int) bool { return bytes.Compare(hashes[order[a]], hashes[order[b]]) < 0 })
	for _, i := range order {
		t := storetest.BenchToken(i)
		if _, err := stmt.ExecContext(ctx, t.User, t.Name, t.Hash, t.CreatedAt.UnixMicro()); err != nil {
			return fmt.Errorf("token %d: %w", i, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Move the load out of the write-ahead log into the database file, as
	// the automatic checkpoint of a store in service soon would: reads of
	// pages still in the log cost a lookup in its index.
	var busy, logged, moved int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &moved); err != nil {
		return fmt.Errorf("checkpoint after loading: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("checkpoint after loading: database busy")
	}
	return nil
}
