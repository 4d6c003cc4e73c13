package ldap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/config"
)

// Backend authenticates users against an LDAP directory.
type Backend struct {
	name         string
	cfg          config.LDAPConfig
	logger       *slog.Logger
	servers      []server
	bindPassword string
	adminGroups  map[string]bool
	// adminAccounts are account names made administrators by the chain
	// entry's admins list; set before the backend serves.
	adminAccounts map[string]bool
	// nameAttr is the attribute the user name is compared with (see
	// nameAttribute); "" when account names are the names as typed.
	nameAttr string
	pool     *pool
	// bindPool holds the connections for user binds when there is a
	// service account (nil otherwise: user binds use pool).
	bindPool *pool
	groups   *groupCache
	counters counters
	now      func() time.Time
	descs    metricDescs
	// noLookup logs once that users cannot be looked up.
	noLookup sync.Once
	// dummy is the hash a denial is compared against (see timing.go),
	// made once at dummyCost.
	dummyCost int
	dummyOnce sync.Once
	dummy     []byte
}

var (
	_ authn.Authenticator = (*Backend)(nil)
	_ authn.Cacheable     = (*Backend)(nil)
	_ authn.TTLer         = (*Backend)(nil)
)

// New makes the authenticator named name from a validated, defaulted
// configuration. It does not contact the directory: a directory that is
// down at start-up makes logins fail with authn.ErrBackend until it is
// back, not the process fail.
func New(name string, cfg config.LDAPConfig, logger *slog.Logger) (*Backend, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UserFilter == "" && cfg.UserDNTemplate == "" {
		return nil, errors.New("ldap: user_filter or user_dn_template is required")
	}
	if cfg.PoolSize < 1 {
		cfg.PoolSize = 1
	}
	b := &Backend{name: name, cfg: cfg, logger: logger, now: time.Now, adminGroups: map[string]bool{}, descs: newMetricDescs(name)}
	b.bindPassword = cfg.BindPassword
	if cfg.BindPasswordFile != "" {
		raw, err := os.ReadFile(cfg.BindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: bind_password_file: %w", err)
		}
		b.bindPassword = strings.TrimRight(string(raw), "\r\n")
	}
	if cfg.BindDN != "" && b.bindPassword == "" {
		return nil, errors.New("ldap: bind_dn needs a non-empty password (an empty one is an anonymous bind)")
	}
	tc, err := baseTLS(cfg.CAFile, cfg.ServerName, cfg.InsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("ldap: %w", err)
	}
	b.servers, err = parseServers(cfg.URLs, cfg.StartTLS, tc)
	if err != nil {
		return nil, fmt.Errorf("ldap: %w", err)
	}
	if len(b.servers) == 0 {
		return nil, errors.New("ldap: no server URL configured")
	}
	if cfg.InsecureSkipVerify {
		logger.Warn("ldap: insecure_skip_verify is set: server certificates are not checked and passwords can be intercepted", "authenticator", name)
	}
	for _, s := range b.servers {
		if !s.tls && !cfg.StartTLS {
			if !cfg.AllowPlaintext {
				return nil, fmt.Errorf("ldap: %s is plain ldap:// without start_tls; set allow_plaintext to permit clear-text passwords", s.url)
			}
			logger.Warn("ldap: plain ldap:// without StartTLS: passwords cross the network in clear text", "authenticator", name, "server", s.url)
		}
	}
	for _, g := range cfg.AdminGroups {
		b.adminGroups[strings.ToLower(g)] = true
	}
	b.nameAttr = nameAttribute(cfg)
	if b.nameAttr == "" && cfg.AccountAttribute == "" {
		logger.Warn("ldap: account names are the user names as typed (no single attribute is compared with {username}): \"Alice\" and \"alice\" are then two accounts of one entry; set account_attribute", "authenticator", name)
	}
	// A request waits for a free connection at most as long as one
	// connection may be held by a request against a directory that does
	// not answer: a dial (every server), a bind and a search.
	wait := time.Duration(len(b.servers))*cfg.DialTimeout + cfg.BindTimeout + cfg.SearchTimeout
	b.pool = newPool(cfg.PoolSize, wait, b.dialService)
	if cfg.BindDN != "" {
		b.bindPool = newPool(cfg.PoolSize, wait, b.dialForBind)
	}
	b.groups = newGroupCache(cfg.GroupCacheTTL)
	return b, nil
}

// SetAdminAccounts makes the named accounts administrators (the chain
// entry's admins list), compared with the account name a grant carries.
// It must be called before the backend serves requests.
func (b *Backend) SetAdminAccounts(names []string) {
	b.adminAccounts = make(map[string]bool, len(names))
	for _, n := range names {
		b.adminAccounts[n] = true
	}
}

// Name implements authn.Authenticator.
func (b *Backend) Name() string { return b.name }

// Close closes the idle connections; connections in use close when their
// request ends.
func (b *Backend) Close() error {
	b.pool.close()
	if b.bindPool != nil {
		b.bindPool.close()
	}
	return nil
}

// Revalidate implements authn.Cacheable. It always answers true without
// asking the directory: a cache hit must stay cheap, so an account
// disabled or a password changed in the directory takes effect when the
// cached grant expires. The chain's cache TTL (or this backend's
// cache_ttl) is therefore the bound on staleness; set cache: false where
// that is too long.
func (b *Backend) Revalidate(context.Context, *authn.Identity) (bool, error) { return true, nil }

// CacheTTL is how long the verified-credential cache keeps this backend's
// grants: cache_ttl when set, 0 for the global TTL, -1 (never cache) when
// cache: false.
func (b *Backend) CacheTTL() time.Duration {
	if !b.cfg.CacheOn() {
		return -1
	}
	return b.cfg.CacheTTL
}

// Authenticate implements authn.Authenticator.
func (b *Backend) Authenticate(ctx context.Context, c authn.Credentials) (authn.Result, error) {
	var tr Trace
	res, err := b.login(ctx, c.Username, c.Password, &tr)
	switch {
	case err != nil:
		b.counters.errors.Add(1)
		return authn.Result{}, err
	case res.Decision == authn.Grant:
		b.counters.grants.Add(1)
	case res.Decision == authn.Deny:
		b.counters.denies.Add(1)
		b.equalizeDenial(c.Password)
		res.Hashed = true
	default:
		b.counters.abstains.Add(1)
	}
	b.logger.DebugContext(ctx, "ldap login", "authenticator", b.name, "user", c.Username, "dn", tr.DN, "decision", res.Decision.String(), "reason", res.Reason)
	return res, nil
}

// Lookup runs a login as Authenticate does and reports each step, for
// diagnostics. The error is the one Authenticate would return.
func (b *Backend) Lookup(ctx context.Context, user, password string) (Trace, error) {
	var tr Trace
	_, err := b.login(ctx, user, password, &tr)
	return tr, err
}
