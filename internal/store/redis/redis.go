// Package redis keeps the API-key gateway's replay records in Redis, so
// that several gateway instances sharing one Redis refuse a token that
// any of them accepted. It implements store.ReplayStore only: users,
// tokens and keys stay in the database store.
package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis/internal/store"
)

// Options configure the connection.
type Options struct {
	// URL is redis://[user:password@]host:port[/db], rediss:// for TLS or
	// unix:///path/to/socket; go-redis' query parameters (dial_timeout,
	// read_timeout, pool_size, ...) are accepted.
	URL string
	// KeyPrefix is put before every key (several deployments may share
	// one Redis).
	KeyPrefix string
	// CAFile, for rediss://, is the PEM bundle the server's certificate
	// must chain to instead of the system roots.
	CAFile string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Store is a Redis-backed store.ReplayStore.
type Store struct {
	c      *goredis.Client
	prefix string
	now    func() time.Time
	addr   string // for messages; never the credentials
}

var _ store.ReplayStore = (*Store)(nil)

// Timeouts unless the URL sets its own: the claim sits on the path of
// every gateway request, and a Redis that does not answer in a second is
// treated as down (the gateway then refuses with 503).
const (
	defaultDialTimeout = 2 * time.Second
	defaultIOTimeout   = time.Second
	maxKeyLen          = 512
)

// Open connects and checks that Redis answers. Errors name the server's
// address, never the password in the URL.
func Open(ctx context.Context, o Options) (*Store, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, errors.New("redis URL does not parse") // the parse error would repeat the password
	}
	opt, err := goredis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL %s: %w", u.Redacted(), err)
	}
	q := u.Query()
	if !q.Has("dial_timeout") {
		opt.DialTimeout = defaultDialTimeout
	}
	if !q.Has("read_timeout") {
		opt.ReadTimeout = defaultIOTimeout
	}
	if !q.Has("write_timeout") {
		opt.WriteTimeout = defaultIOTimeout
	}
	// A claim whose answer was lost may have been applied: resending it
	// would call the token a replay. One attempt; a failure is a 503.
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	opt.DisableIdentity = true
	quietLibraryLog.Do(func() { goredis.SetLogger(debugLogger{}) })
	if o.CAFile != "" {
		if opt.TLSConfig == nil {
			return nil, fmt.Errorf("redis URL %s: a CA file needs rediss://", u.Redacted())
		}
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("redis CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis CA file %s: no PEM certificate", o.CAFile)
		}
		opt.TLSConfig.RootCAs = pool
	}
	if opt.TLSConfig != nil && opt.TLSConfig.MinVersion < tls.VersionTLS12 {
		opt.TLSConfig.MinVersion = tls.VersionTLS12
	}
	s := &Store{c: goredis.NewClient(opt), prefix: o.KeyPrefix, now: o.Now, addr: opt.Addr}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.c.Ping(ctx).Err(); err != nil {
		s.c.Close()
		return nil, fmt.Errorf("redis %s: %w", s.addr, err)
	}
	return s, nil
}

// ClaimOnce records key until expires with SET NX and a time to live, so
// that of concurrent claims on any number of instances exactly one wins,
// and Redis forgets the key when it expires. The time to live is counted
// from this instance's clock, so Redis' own clock does not matter.
func (s *Store) ClaimOnce(ctx context.Context, key string, expires time.Time) (bool, error) {
	if key == "" || len(key) > maxKeyLen {
		return false, errors.New("claim once: key must be 1 to 512 bytes")
	}
	ttl := expires.Sub(s.now())
	if ttl <= 0 {
		// Already expired: a record would not count, so there is
		// nothing to keep (the database stores behave the same).
		return true, nil
	}
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	err := s.c.SetArgs(ctx, s.prefix+key, "1", goredis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, goredis.Nil):
		return false, nil
	default:
		return false, fmt.Errorf("claim once on redis %s: %w", s.addr, err)
	}
}

// PurgeExpired does nothing: Redis drops expired keys itself.
func (s *Store) PurgeExpired(context.Context) error { return nil }

// quietLibraryLog routes go-redis' own messages (dial retries and the
// like, printed to the standard logger by default) to slog at debug
// level: the errors that matter reach the caller, and are logged there.
var quietLibraryLog sync.Once

type debugLogger struct{}

func (debugLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// Close closes the connections.
func (s *Store) Close() error { return s.c.Close() }
