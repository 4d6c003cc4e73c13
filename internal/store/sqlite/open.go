package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// busyTimeout is how long a connection waits for another process's write
// lock before giving up with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// mmapSize is how much of the database file is memory-mapped for reading.
// Address space, not memory: pages are loaded on use and shared with the
// operating system's file cache. A million app tokens take about 150 MB.
const mmapSize = 1 << 30

// maxConns bounds the connection pool; WAL lets the readers among them run
// in parallel while writers take turns.
const maxConns = 8

// Store is the SQLite implementation of store.Store.
type Store struct {
	db  *sql.DB
	now func() time.Time
	// writeSem admits one writing transaction of this process at a time.
	writeSem chan struct{}
	stmts    statements
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it with mode 0600 when missing) and migrates the
// database at path.
func Open(ctx context.Context, path string, opts store.Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite store: empty path")
	}
	// The driver reads parameters after '?'; such a path would be misread.
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite store: path %q must not contain '?' or '#'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite store: create directory: %w", err)
	}
	// Create the file ourselves so it is private from the first byte;
	// SQLite gives the -wal and -shm files the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}

	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{db: db, now: now, writeSem: make(chan struct{}, 1)}
	if err := s.checkOurs(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	if err := s.enableWAL(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	if err := s.check(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	return s, nil
}

// dsn sets the per-connection pragmas; database/sql opens connections
// lazily, so they must be part of the DSN rather than run once.
func dsn(path string) string {
	q := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=synchronous(FULL)",
		"_pragma=foreign_keys(1)",
		// Read pages straight from the operating system's file cache,
		// shared by every connection, instead of copying them into each
		// connection's small page cache: lookups in a store of a million
		// tokens then cost about what they cost in one of a thousand.
		fmt.Sprintf("_pragma=mmap_size(%d)", mmapSize),
		// Every transaction this package opens writes: take the write lock
		// at BEGIN so a read-then-write never fails on lock upgrade.
		"_txlock=immediate",
	}
	return path + "?" + strings.Join(q, "&")
}

// ErrNotPortcullis is returned by Open for a file that holds another
// program's database.
var ErrNotPortcullis = errors.New("not a Portcullis database")

// checkOurs refuses a database that has tables but no schema_migrations:
// another program's (store.path naming the wrong file). Going on would
// switch it to WAL and add our tables to it. An empty file is a new
// store; a Portcullis database always has schema_migrations, created in
// the same transaction as the first tables.
func (s *Store) checkOurs(ctx context.Context) error {
	var ours, tables bool
	err := s.db.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'),
		EXISTS (SELECT 1 FROM sqlite_master WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\')`).Scan(&ours, &tables)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if tables && !ours {
		return fmt.Errorf("%w: it has tables but no schema_migrations; refusing to change it (check store.path)", ErrNotPortcullis)
	}
	return nil
}

// enableWAL switches the file to write-ahead logging, a setting SQLite
// keeps in the file itself. The switch needs a moment of exclusive access
// for which SQLite does not wait (its reader would have to upgrade to a
// writer, which could deadlock), so instances opening a new file at the
// same time retry here instead of failing with SQLITE_BUSY.
func (s *Store) enableWAL(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	for attempt := 1; ; attempt++ {
		var mode string
		err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("journal_mode stays %q, want wal", mode)
		case !isBusy(err) || time.Now().After(deadline):
			return fmt.Errorf("journal_mode: %w", err)
		}
		// Back off a little more each time, with jitter so that racing
		// processes do not retry in step.
		wait := time.Duration(attempt)*5*time.Millisecond + rand.N(5*time.Millisecond)
		select {
		case <-ctx.Done():
			return fmt.Errorf("journal_mode: %w", ctx.Err())
		case <-time.After(min(wait, 100*time.Millisecond)):
		}
	}
}

// check verifies that the pragmas took effect.
func (s *Store) check(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("journal_mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	var sync int
	if err := s.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("synchronous: %w", err)
	}
	if sync != 2 { // FULL
		return fmt.Errorf("synchronous is %d, want 2 (FULL)", sync)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite store: ping: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return errors.Join(s.stmts.close(), s.db.Close()) }

// write runs fn in one IMMEDIATE transaction and commits it, or rolls it
// back when fn fails.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writeSem }()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: commit: %w", err)
	}
	return nil
}
