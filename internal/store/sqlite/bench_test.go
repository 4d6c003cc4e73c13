package sqlite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
	"github.com/portcullis/portcullis/internal/store/storetest"
)

// BenchmarkAppTokenLookupScaling shows that an app-token lookup costs the
// same with a thousand or a million tokens stored (unique index on the
// hash). Run it with
//
//	go test -run '^$' -bench AppTokenLookupScaling ./internal/store/sqlite/
//
// Loading the million tokens takes tens of seconds; -short skips it.
func BenchmarkAppTokenLookupScaling(b *testing.B) {
	if testing.Short() {
		b.Skip("loads a million tokens")
	}
	small := benchStore(b, 1_000)
	large := benchStore(b, 1_000_000)
	storetest.BenchLookupScaling(b, small, 1_000, large, 1_000_000)
}

// benchStore opens a new store and loads n benchmark tokens into it.
func benchStore(b *testing.B, n int) store.Store {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := sqlite.Open(b.Context(), path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	start := time.Now()
	bulkLoad(b, path, n)
	b.Logf("loaded %d tokens in %v", n, time.Since(start).Round(time.Millisecond))
	return s
}

// bulkLoad adds n benchmark tokens in one transaction, behind the store's
// back: going through CreateAppToken would cost a synced commit per token.
// The row format is the store's own (see codec.go).
func bulkLoad(b *testing.B, path string, n int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	db := rawDB(b, path)
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO app_tokens (user_name, name, hash, scopes, created_at)
		VALUES (?, ?, ?, '["repository:team/app:pull"]', ?)`)
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	// In hash order, each insert appends to the table's B-tree instead of
	// landing on a random page of it.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	hashes := make([][]byte, n)
	for i := range hashes {
		hashes[i] = storetest.BenchHash(i)
	}
	sort.Slice(order, func(a, b int) bool { return bytes.Compare(hashes[order[a]], hashes[order[b]]) < 0 })
	for _, i := range order {
		t := storetest.BenchToken(i)
		if _, err := stmt.ExecContext(ctx, t.User, t.Name, t.Hash, t.CreatedAt.UnixMicro()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// Move the load out of the write-ahead log into the database file, as
	// the automatic checkpoint of a store in service soon would: reads of
	// pages still in the log cost a lookup in its index.
	var busy, logged, moved int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &moved); err != nil || busy != 0 {
		b.Fatalf("checkpoint after loading: busy=%d: %v", busy, err)
	}
}
