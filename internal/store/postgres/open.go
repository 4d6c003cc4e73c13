package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
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

// callMargin is how much longer than statement_timeout (and at most half
// as long again) one store call may take before Portcullis gives up on its
// side. statement_timeout is enforced by the server, so it does nothing
// when the server, its host or the network to it stops answering: a
// connection then stays open and silent, and without a bound of our own a
// login would wait for it until TCP gives up, many minutes later. The
// margin lets the server's own timeout, which keeps the connection
// usable, fire first.
const callMargin = 5 * time.Second

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
	// callTimeout bounds every call (statement_timeout + margin); zero
	// when the DSN turns statement_timeout off.
	callTimeout time.Duration
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
	statementTimeout, ok := cfg.ConnConfig.RuntimeParams["statement_timeout"]
	if !ok {
		// libpq users set it inside options ("-c statement_timeout=5s").
		// PostgreSQL applies startup parameters after options, so the
		// default must not be sent then, or it would silently win.
		statementTimeout, ok = optionsSetting(cfg.ConnConfig.RuntimeParams["options"], "statement_timeout")
	}
	if !ok {
		statementTimeout = defaultStatementTimeout
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = statementTimeout
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
	s := &Store{pool: pool, now: now, callTimeout: callTimeout(statementTimeout)}
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

// callTimeout is the client-side bound of one store call for the given
// statement_timeout setting.
func callTimeout(statementTimeout string) time.Duration {
	d, ok := parseTimeout(statementTimeout)
	if !ok {
		// PostgreSQL accepted a form we do not read: bound by the default.
		d, _ = parseTimeout(defaultStatementTimeout)
	}
	if d == 0 {
		return 0 // the operator turned statement timeouts off
	}
	return d + min(callMargin, d/2)
}

// optionsSetting finds setting name in the value of the options startup
// parameter, which holds command-line switches: "-c name=value",
// "-cname=value" or "--name=value", dashes in names standing for
// underscores; the last one wins, as in PostgreSQL.
func optionsSetting(options, name string) (string, bool) {
	var value string
	found := false
	fields := strings.Fields(options)
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		var kv string
		switch {
		case f == "-c" && i+1 < len(fields):
			i++
			kv = fields[i]
		case strings.HasPrefix(f, "--"):
			kv = f[2:]
		case strings.HasPrefix(f, "-c"):
			kv = f[2:]
		default:
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.EqualFold(strings.ReplaceAll(k, "-", "_"), name) {
			value, found = v, true
		}
	}
	return value, found
}

// parseTimeout reads a PostgreSQL time setting: a number, optionally
// followed by one of its units; a bare number is milliseconds.
func parseTimeout(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := v, ""
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	units := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	u, ok := units[unit]
	if !ok || n*float64(u) > float64(math.MaxInt64/2) {
		return 0, false
	}
	return time.Duration(n * float64(u)), true
}

// bound limits one store call to callTimeout; see callMargin.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.callTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.callTimeout)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
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
