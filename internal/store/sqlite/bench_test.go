package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
	"github.com/portcullis/portcullis/internal/store/sqlite/sqlitebench"
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

// bulkLoad adds n benchmark tokens to the store at path.
func bulkLoad(b *testing.B, path string, n int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	if err := sqlitebench.LoadAppTokens(ctx, path, n); err != nil {
		b.Fatal(err)
	}
}
