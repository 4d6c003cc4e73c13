package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/postgres"
	"github.com/portcullis/portcullis/internal/store/storetest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// BenchmarkAppTokenLookupScaling shows that an app-token lookup costs the
// same with a thousand or a million tokens stored (unique index on the
// hash), on a real PostgreSQL server. Run it with
//
//	go test -run '^$' -bench AppTokenLookupScaling ./internal/store/postgres/
//
// -short skips it.
func BenchmarkAppTokenLookupScaling(b *testing.B) {
	if testing.Short() {
		b.Skip("loads a million tokens")
	}
	small := benchStore(b, 1_000)
	large := benchStore(b, 1_000_000)
	storetest.BenchLookupScaling(b, small, 1_000, large, 1_000_000)
}

// benchStore opens a store on a new database and loads n benchmark tokens
// into it.
func benchStore(b *testing.B, n int) store.Store {
	b.Helper()
	dsn := testenv.StartPostgres(b)
	s, err := postgres.Open(b.Context(), dsn, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	start := time.Now()
	bulkLoad(b, dsn, n)
	b.Logf("loaded %d tokens in %v", n, time.Since(start).Round(time.Millisecond))
	return s
}

// bulkLoad adds n benchmark tokens with one COPY, behind the store's
// back: going through CreateAppToken would cost a commit per token. It
// then refreshes the planner's statistics, as autovacuum would soon.
func bulkLoad(b *testing.B, dsn string, n int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	i := 0
	rows := pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		t := storetest.BenchToken(i)
		i++
		return []any{t.User, t.Name, t.Hash, `["repository:team/app:pull"]`, t.CreatedAt}, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"app_tokens"},
		[]string{"user_name", "name", "hash", "scopes", "created_at"}, rows); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE app_tokens"); err != nil {
		b.Fatal(err)
	}
}
