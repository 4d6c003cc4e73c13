package sqlite_test

import (
	"crypto/sha256"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
)

func benchHash(i int) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	h := sha256.Sum256(b[:])
	return h[:]
}

// BenchmarkGetAppTokenByHash shows lookups cost the same with a thousand
// or a million tokens stored (unique index on hash).
func BenchmarkGetAppTokenByHash(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
	}{{"1k", 1_000}, {"1M", 1_000_000}} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			s, err := sqlite.Open(b.Context(), path, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			bulkInsert(b, path, bc.n)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := s.GetAppTokenByHash(b.Context(), benchHash(i*7919%bc.n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// bulkInsert adds n tokens in one transaction, behind the store's back:
// going through CreateAppToken would cost a synced commit per token.
func bulkInsert(b *testing.B, path string, n int) {
	b.Helper()
	db := rawDB(b, path)
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO app_tokens (user_name, name, hash, scopes, created_at)
		VALUES (?, ?, ?, '[]', 1700000000000000)`)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := stmt.Exec(i%1000, i, benchHash(i)); err != nil {
			b.Fatal(err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
