package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/portcullis/portcullis/internal/store"
)

// Defaults applied when the DSN does not say otherwise: a database that
// does not answer must not hang a login forever.
const (
	defaultConnectTimeout   = 10 * time.Second
	defaultStatementTimeout = "30s"
)

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or
// key=value string) and migrates it.
func Open(ctx context.Context, dsn string, opts store.Options) (*Store, error) {
	cfg, err := ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, cfg, opts)
}

// ParseConfig parses dsn into a pool configuration. Its error says what is
// wrong without quoting the DSN: pgx quotes it with the password masked as
// best it can, and it cannot always (key = value with spaces, which libpq
// accepts, comes out in clear).
func ParseConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, &dsnError{cause: err}
	}
	return cfg, nil
}

// dsnError is a DSN parse error shown without the DSN.
type dsnError struct{ cause error }

func (e *dsnError) Error() string {
	const msg = "postgres store: cannot parse the DSN"
	var pe *pgconn.ParseConfigError
	if !errors.As(e.cause, &pe) {
		return msg
	}
	// pgx writes "cannot parse `<masked DSN>`: <reason>". An error made
	// from the same DSN with no reason is exactly that prefix, so the
	// reason is what follows it. Should pgx change its wording, say
	// nothing rather than risk the password.
	prefix := pgconn.NewParseConfigError(pe.ConnString, "", nil).Error()
	reason, ok := strings.CutPrefix(pe.Error(), prefix)
	if !ok || reason == "" {
		return msg
	}
	return msg + ": " + reason
}

// Unwrap gives the cause behind pgx's error (a strconv error, say), which
// does not hold the DSN; pgx's error itself does.
func (e *dsnError) Unwrap() error {
	var pe *pgconn.ParseConfigError
	if errors.As(e.cause, &pe) {
		return pe.Unwrap()
	}
	return nil
}

// OpenConfig is Open with a parsed pool configuration, for callers that
// set pool sizes or TLS themselves.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, opts store.Options) (*Store, error) {
	if cfg == nil {
		return nil, errors.New("postgres store: nil config")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !ok {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = defaultStatementTimeout
	}
	// Times go over the wire as timestamptz; make the session zone fixed so
	// nothing depends on the server's default.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{pool: pool, now: now}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store: connect: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres store: ping: %w", err)
	}
	return nil
}

// Close closes every connection of the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// write runs fn in one transaction, committed when fn succeeds.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}
