package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
)

// rawDB opens the file behind the store's back, as an operator would.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrationsOnceWhenOpenedConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			s, err := sqlite.Open(t.Context(), path, store.Options{})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	var n, max int
	if err := rawDB(t, path).QueryRow("SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != sqlite.LatestVersion() || max != sqlite.LatestVersion() {
		t.Errorf("schema_migrations holds %d rows up to %d, want each of 1..%d once", n, max, sqlite.LatestVersion())
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := sqlite.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(t.Context(), store.User{Name: "a", PasswordHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetUser(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := sqlite.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := rawDB(t, path).Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)", sqlite.LatestVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(t.Context(), path, store.Options{})
	if !errors.Is(err, sqlite.ErrSchemaTooNew) {
		t.Fatalf("opening a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func TestFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "p.db")
	s, err := sqlite.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateUser(t.Context(), store.User{Name: "a", PasswordHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), perm)
		}
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", filepath.Join(t.TempDir(), "x.db?mode=memory"), filepath.Join(t.TempDir(), "x#y")} {
		if s, err := sqlite.Open(t.Context(), p, store.Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) accepted", p)
		}
	}
}

// TestUpgradeFromVersion1KeepsAppTokens opens a database written by a
// binary that knew only the first schema: the app tokens in it must still
// log in after the upgrade rebuilds their table.
func TestUpgradeFromVersion1KeepsAppTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	hash := bytes.Repeat([]byte{7}, 32)
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
		string(v1),
		`INSERT INTO schema_migrations VALUES (1, 1700000000000000)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO app_tokens (user_name, name, hash, scopes, created_at, last_used_addr)
		VALUES ('alice', 'ci', ?, '["repository:alice/app:pull"]', 1700000000000000, '127.0.0.1')`, hash); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := sqlite.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatalf("open a version-1 database: %v", err)
	}
	defer s.Close()
	got, err := s.GetAppTokenByHash(t.Context(), hash)
	if err != nil {
		t.Fatalf("app token written before the upgrade: %v", err)
	}
	if got.User != "alice" || got.Name != "ci" || len(got.Scopes) != 1 || got.Scopes[0] != "repository:alice/app:pull" || got.LastUsedAddr != "127.0.0.1" {
		t.Errorf("after upgrade: %+v", got)
	}
	if err := s.CreateAppToken(t.Context(), store.AppToken{User: "alice", Name: "ci", Hash: bytes.Repeat([]byte{8}, 32), CreatedAt: got.CreatedAt}, 5); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("second token named ci for alice after upgrade: %v, want ErrAlreadyExists", err)
	}
}

// store.path naming another program's SQLite database (a typo, a wrong
// volume) is refused with a message naming the file, and the file is left
// as it was: not switched to WAL, no Portcullis tables added to it.
func TestRefusesAnotherProgramsDatabase(t *testing.T) {
	for _, tc := range []struct{ name, schema string }{
		{"unrelated tables", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"},
		{"a table named like ours", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			db := rawDB(t, path)
			if _, err := db.Exec(tc.schema); err != nil {
				t.Fatal(err)
			}
			db.Close()
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := sqlite.Open(t.Context(), path, store.Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened another program's database")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a Portcullis database") {
				t.Errorf("error %q does not name the file and the reason", err)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Error("the file was changed")
			}
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Error("the file was switched to WAL")
			}
		})
	}
}

// A store whose schema is current opens without the write lock: a CLI
// command (user list, apptoken create) does not wait behind the server's
// writes for the busy timeout only to find nothing to migrate.
func TestCurrentSchemaOpensWhileAnotherWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := sqlite.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Another process holds the write lock, as the server does while it
	// writes.
	conn, err := rawDB(t, path).Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	s, err = sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("open with the write lock held elsewhere: %v", err)
	}
	defer s.Close()
	if _, err := s.ListUsers(ctx); err != nil {
		t.Fatalf("read while another writes: %v", err)
	}
}
