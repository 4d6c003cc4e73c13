package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/postgres"
	"github.com/portcullis/portcullis/internal/testenv"
)

// rawConn connects behind the store's back, as an operator would.
func rawConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Several instances starting at the same moment against one empty
// database: every Open succeeds and each migration is applied once.
func TestMigrationsOnceWhenOpenedConcurrently(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.StartPostgres(t)
	const n = 6
	errs := make([]error, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-gate
			s, err := postgres.Open(t.Context(), dsn, store.Options{})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	close(gate)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent open: %v", err)
	}
	var rows, max int
	if err := rawConn(t, dsn).QueryRow(t.Context(), "SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&rows, &max); err != nil {
		t.Fatal(err)
	}
	if rows != postgres.LatestVersion() || max != postgres.LatestVersion() {
		t.Errorf("schema_migrations holds %d rows up to %d, want each of 1..%d once", rows, max, postgres.LatestVersion())
	}
}

// Migrations are forward-only: a binary older than the schema refuses to
// run on it rather than misread it.
func TestSchemaTooNew(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.StartPostgres(t)
	open(t, dsn, store.Options{}).Close()
	if _, err := rawConn(t, dsn).Exec(t.Context(), "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())",
		postgres.LatestVersion()+1); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(t.Context(), dsn, store.Options{})
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Fatalf("opening a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// Two instances behind a load balancer share one database: what one
// writes, the other reads at once; what one deletes, the other no longer
// finds. (Caches above the store are tested where they live.)
func TestTwoInstancesShareState(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.StartPostgres(t)
	a := open(t, dsn, store.Options{})
	b := open(t, dsn, store.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	h := make([]byte, 32)
	h[0] = 1
	if err := a.CreateAppToken(ctx, store.AppToken{User: "alice", Name: "ci", Hash: h, Scopes: []string{"repository:team/*:pull"}}, 5); err != nil {
		t.Fatal(err)
	}
	got, err := b.GetAppTokenByHash(ctx, h)
	if err != nil || got.User != "alice" || got.Name != "ci" {
		t.Fatalf("token created on a, read on b: %+v, %v", got, err)
	}
	if err := b.CreateAppToken(ctx, store.AppToken{User: "alice", Name: "ci", Hash: append([]byte{2}, h[1:]...)}, 5); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("same name created on b: %v, want ErrAlreadyExists", err)
	}
	if err := b.DeleteAppToken(ctx, "alice", "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetAppTokenByHash(ctx, h); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token revoked on b, read on a: %v, want ErrNotFound", err)
	}
}

// The per-user cap holds across instances, not only across connections
// of one pool.
func TestAppTokenCapAcrossInstances(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.StartPostgres(t)
	stores := []store.Store{open(t, dsn, store.Options{}), open(t, dsn, store.Options{})}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const max, n = 5, 20
	errs := make([]error, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			h := make([]byte, 32)
			h[0], h[1] = 7, byte(i)
			<-gate
			errs[i] = stores[i%2].CreateAppToken(ctx, store.AppToken{User: "racer", Name: string(rune('a' + i)), Hash: h}, max)
		})
	}
	close(gate)
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, store.ErrLimitReached):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if created != max {
		t.Errorf("%d tokens created through two instances, cap is %d", created, max)
	}
}

// A database whose schema is current opens with a role that may only read
// and write rows (a DBA migrates with the owner, Portcullis runs with
// least privilege): nothing left to migrate needs no DDL. A database that
// needs migrating says so, naming the missing privilege.
func TestCurrentSchemaOpensWithRowPrivilegesOnly(t *testing.T) {
	testenv.Integration(t)
	for _, tc := range []struct {
		name    string
		migrate bool // migrate with the owner first
		wantErr string
	}{
		{"schema current", true, ""},
		{"schema missing", false, "permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := testenv.StartPostgres(t)
			if tc.migrate {
				open(t, dsn, store.Options{}).Close()
			}
			owner := rawConn(t, dsn)
			role := fmt.Sprintf("portcullis_dml_%d", time.Now().UnixNano())
			for _, q := range []string{
				"CREATE ROLE " + role + " LOGIN PASSWORD 'dml-pw'",
				"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
				"GRANT USAGE ON SCHEMA public TO " + role,
				"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role,
			} {
				if _, err := owner.Exec(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			t.Cleanup(func() {
				ctx := context.Background()
				_, _ = owner.Exec(ctx, "DROP OWNED BY "+role)
				_, _ = owner.Exec(ctx, "DROP ROLE "+role)
			})
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword(role, "dml-pw")
			s, err := postgres.Open(t.Context(), u.String(), store.Options{})
			if tc.wantErr != "" {
				if err == nil {
					s.Close()
					t.Fatal("opened a database it cannot migrate")
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q, want it to say %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("open with row privileges: %v", err)
			}
			defer s.Close()
			if err := s.CreateUser(t.Context(), store.User{Name: "u", PasswordHash: []byte("h")}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
