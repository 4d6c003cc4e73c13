package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// APIGatewayConfig configures the HMAC API-key gateway: a listener of its
// own that checks cyphernode-style HS256 bearer tokens and forwards to
// upstream services by path prefix. This file is owned by the API-key
// gateway; the root Config only embeds it.
type APIGatewayConfig struct {
	Enabled bool `yaml:"enabled"`
	// Addr is the gateway's listener (HOST:PORT); default :8443.
	Addr string `yaml:"addr"`
	// TLSCert and TLSKey default to DATA_DIR/apigw/cert.pem and key.pem,
	// made self-signed for Hosts on first start.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Hosts are the names a generated certificate is made for; default the
	// machine's hostname, localhost and 127.0.0.1.
	Hosts []string `yaml:"hosts"`
	// Insecure serves plain HTTP, only behind a TLS-terminating proxy on
	// the same host.
	Insecure bool `yaml:"insecure_http"`

	// KeysFile is a keys.properties file (key001=HEX lines, or cyphernode's
	// kapi_id=...;kapi_key=...;kapi_groups=... lines); default
	// DATA_DIR/apigw/keys.properties. A missing file holds no keys. It is
	// re-read when it changes and on SIGHUP.
	KeysFile string `yaml:"keys_file"`
	// KeysReloadInterval is how often KeysFile is checked for changes;
	// default 2s.
	KeysReloadInterval time.Duration `yaml:"keys_reload_interval"`
	// StoreKeys also looks keys up in the store (`portcullis apikey
	// create`); default true.
	StoreKeys *bool `yaml:"store_keys"`
	// StoreKeyCacheTTL is how long a key read from the store (or its
	// absence) is remembered; a revoked key stops working within it.
	// Default 5s.
	StoreKeyCacheTTL time.Duration `yaml:"store_key_cache_ttl"`

	// ClockSkew is the grace after exp; default 5s.
	ClockSkew time.Duration `yaml:"clock_skew"`
	// MaxLifetime refuses tokens whose exp is further ahead (too_long_lived);
	// default 60s. Set it to 0s to turn the cap off for legacy clients.
	MaxLifetime *time.Duration `yaml:"max_lifetime"`
	// NewlineSignatures also accepts an HMAC over H.P followed by a newline,
	// which the original `echo | openssl dgst` one-liner makes; default true.
	NewlineSignatures *bool `yaml:"newline_signatures"`
	// MaxTokenBytes bounds the bearer token; default 4096.
	MaxTokenBytes int `yaml:"max_token_bytes"`

	// Replay is where accepted token signatures are remembered until they
	// expire: "memory" (default, one instance), "store" (shared by every
	// instance using the same PostgreSQL or SQLite store), "redis" (shared
	// by every instance using the same Redis, see Redis) or "off".
	Replay string `yaml:"replay"`
	// Redis is the server of replay: redis.
	Redis APIGatewayRedis `yaml:"redis"`
	// ReplayMaxEntries bounds the in-memory replay cache; when full, new
	// tokens are refused with 503 until old ones expire. Default 1000000.
	ReplayMaxEntries int `yaml:"replay_max_entries"`

	// KeyIDHeader and GroupsHeader carry the caller's key id and its
	// groups (comma-separated) to the upstream; defaults
	// X-Portcullis-Key-Id and X-Portcullis-Key-Groups. Incoming copies are
	// always removed.
	KeyIDHeader  string `yaml:"key_id_header"`
	GroupsHeader string `yaml:"groups_header"`

	// RateLimit is a token bucket per key.
	RateLimit APIGatewayRateLimit `yaml:"rate_limit"`

	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout closes keep-alive connections idle between requests; it
	// never cuts a running stream.
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// DialTimeout bounds connecting to an upstream (then 502).
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ResponseHeaderTimeout bounds the wait for an upstream's response
	// headers (then 504); routes may override it.
	ResponseHeaderTimeout time.Duration `yaml:"response_header_timeout"`
	// StreamIdleTimeout cuts a request or answer in progress (download,
	// upload, event stream, websocket) when no byte has moved on a side
	// for this long: a client that stops reading, an upstream that stalls
	// mid-body, an upload that stops; default 5m.
	StreamIdleTimeout time.Duration `yaml:"stream_idle_timeout"`

	Routes []APIRoute `yaml:"routes"`
}

// APIGatewayRateLimit is a per-key token bucket: PerSecond requests a
// second on average, Burst at once (defaults 50 and 100).
type APIGatewayRateLimit struct {
	Disabled  bool `yaml:"disabled"`
	PerSecond int  `yaml:"per_second"`
	Burst     int  `yaml:"burst"`
}

// APIRoute forwards requests under a path prefix to one upstream.
type APIRoute struct {
	// Prefix is the path prefix (/v0); "/" takes every path.
	Prefix string `yaml:"prefix"`
	// Upstream is http://HOST:PORT[/base], https://... or
	// unix:///path/to/socket.
	Upstream string `yaml:"upstream"`
	// UpstreamCA is a PEM bundle that https upstreams are checked against;
	// default the system roots.
	UpstreamCA string `yaml:"upstream_ca"`
	// StripPrefix removes Prefix before forwarding.
	StripPrefix bool `yaml:"strip_prefix"`
	// Groups may call the route (a key needs one of them); empty means
	// every valid key.
	Groups []string `yaml:"groups"`
	// Actions maps an action (the first path segment after the prefix) to
	// the groups that may call it. When Actions or APIProperties is set,
	// an action not listed is refused.
	Actions map[string][]string `yaml:"actions"`
	// APIProperties is cyphernode's api.properties (action_NAME=group
	// lines), imported as is and merged into Actions.
	APIProperties string `yaml:"api_properties"`
	// ResponseHeaderTimeout overrides the gateway's for this route.
	ResponseHeaderTimeout time.Duration `yaml:"response_header_timeout"`
}

// APIGatewayRedis is where replay: redis keeps its records.
type APIGatewayRedis struct {
	// URL is redis://[user:password@]host:port[/db], rediss:// for TLS,
	// or unix:///path/to/socket; go-redis query parameters such as
	// read_timeout may follow (defaults here: dial 2s, read and write 1s).
	// It holds the password: PORTCULLIS_API_GATEWAY_REDIS_URL keeps it out
	// of the file.
	URL string `yaml:"url"`
	// KeyPrefix starts every key; default "portcullis:replay:".
	KeyPrefix string `yaml:"key_prefix"`
	// CAFile is the PEM bundle a rediss:// server's certificate must chain
	// to; default the system roots.
	CAFile string `yaml:"ca_file"`
}

// APIGatewayReplayModes are the accepted values of api_gateway.replay.
var APIGatewayReplayModes = []string{"memory", "store", "redis", "off"}

var headerNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// StoreKeysEnabled reports whether keys are also looked up in the store.
func (c *APIGatewayConfig) StoreKeysEnabled() bool { return c.StoreKeys == nil || *c.StoreKeys }

// NewlineSignaturesEnabled reports whether HMACs over H.P plus a newline
// are accepted.
func (c *APIGatewayConfig) NewlineSignaturesEnabled() bool {
	return c.NewlineSignatures == nil || *c.NewlineSignatures
}

// MaxTokenLifetime is the lifetime cap; 0 means none.
func (c *APIGatewayConfig) MaxTokenLifetime() time.Duration {
	if c.MaxLifetime == nil {
		return 60 * time.Second
	}
	return *c.MaxLifetime
}

func (c *APIGatewayConfig) setDefaults(dataDir string) {
	gwDef(&c.Addr, ":8443")
	if !c.Insecure {
		gwDef(&c.TLSCert, filepath.Join(dataDir, "apigw", "cert.pem"))
		gwDef(&c.TLSKey, filepath.Join(dataDir, "apigw", "key.pem"))
	}
	gwDef(&c.KeysFile, filepath.Join(dataDir, "apigw", "keys.properties"))
	gwDefDur(&c.KeysReloadInterval, 2*time.Second)
	gwDefDur(&c.StoreKeyCacheTTL, 5*time.Second)
	gwDefDur(&c.ClockSkew, 5*time.Second)
	if c.MaxTokenBytes == 0 {
		c.MaxTokenBytes = 4096
	}
	gwDef(&c.Replay, "memory")
	if c.ReplayMaxEntries == 0 {
		c.ReplayMaxEntries = 1000000
	}
	gwDef(&c.KeyIDHeader, "X-Portcullis-Key-Id")
	gwDef(&c.GroupsHeader, "X-Portcullis-Key-Groups")
	if c.RateLimit.PerSecond == 0 {
		c.RateLimit.PerSecond = 50
	}
	if c.RateLimit.Burst == 0 {
		c.RateLimit.Burst = 2 * c.RateLimit.PerSecond
	}
	gwDefDur(&c.ReadHeaderTimeout, 10*time.Second)
	gwDefDur(&c.IdleTimeout, 120*time.Second)
	gwDefDur(&c.ShutdownTimeout, 15*time.Second)
	gwDefDur(&c.DialTimeout, 5*time.Second)
	gwDefDur(&c.ResponseHeaderTimeout, 60*time.Second)
	gwDefDur(&c.StreamIdleTimeout, 5*time.Minute)
	for i := range c.Routes {
		r := &c.Routes[i]
		if r.Prefix != "/" {
			r.Prefix = strings.TrimSuffix(r.Prefix, "/")
		}
		gwDefDur(&r.ResponseHeaderTimeout, c.ResponseHeaderTimeout)
	}
}

func (c *APIGatewayConfig) validate(v *Validator, p string) {
	if !c.Enabled {
		return
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		v.Errorf(p+".addr", "must be HOST:PORT or :PORT, not %q", c.Addr)
	}
	if c.Insecure && (c.TLSCert != "" || c.TLSKey != "") {
		v.Errorf(p+".insecure_http", "cannot be combined with tls_cert/tls_key")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") && !c.Insecure {
		v.Errorf(p+".tls_cert", "tls_cert and tls_key go together")
	}
	if !oneOf(c.Replay, APIGatewayReplayModes) {
		v.Errorf(p+".replay", "must be one of %s, not %q", strings.Join(APIGatewayReplayModes, ", "), c.Replay)
	}
	if c.Replay == "redis" {
		if c.Redis.KeyPrefix == "" {
			c.Redis.KeyPrefix = "portcullis:replay:"
		}
		switch u, err := url.Parse(c.Redis.URL); {
		case c.Redis.URL == "":
			v.Errorf(p+".redis.url", "is required with replay: redis (redis://[user:password@]host:port/db)")
		case err != nil:
			v.Errorf(p+".redis.url", "does not parse as a URL") // the parse error would repeat the password
		case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
			v.Errorf(p+".redis.url", "must start with redis://, rediss:// or unix://, not %q", u.Scheme+":")
		case c.Redis.CAFile != "" && u.Scheme != "rediss":
			v.Errorf(p+".redis.ca_file", "needs a rediss:// URL")
		}
	} else if c.Redis != (APIGatewayRedis{}) {
		v.Errorf(p+".redis", "is set but replay is %q: set replay: redis to use it", c.Replay)
	}
	if c.ReplayMaxEntries < 1000 {
		v.Errorf(p+".replay_max_entries", "must be at least 1000, got %d", c.ReplayMaxEntries)
	}
	if c.MaxTokenBytes < 128 || c.MaxTokenBytes > 64<<10 {
		v.Errorf(p+".max_token_bytes", "must be between 128 and 65536, got %d", c.MaxTokenBytes)
	}
	if c.MaxLifetime != nil && *c.MaxLifetime < 0 {
		v.Errorf(p+".max_lifetime", "must not be negative (0 turns the cap off)")
	}
	if c.ClockSkew > 5*time.Minute {
		v.Errorf(p+".clock_skew", "must be at most 5m, got %s", c.ClockSkew)
	}
	for _, hn := range [...]struct{ name, h string }{{"key_id_header", c.KeyIDHeader}, {"groups_header", c.GroupsHeader}} {
		switch {
		case !headerNameRE.MatchString(hn.h) || strings.EqualFold(hn.h, "Authorization"):
			v.Errorf(p+"."+hn.name, "must be an HTTP header name other than Authorization, not %q", hn.h)
		case reservedIdentityHeader(hn.h):
			v.Errorf(p+"."+hn.name, "%q is a header the proxy itself sets, drops or frames the request with; choose another name", hn.h)
		}
	}
	if strings.EqualFold(c.KeyIDHeader, c.GroupsHeader) {
		v.Errorf(p+".groups_header", "must differ from key_id_header")
	}
	if c.RateLimit.PerSecond < 0 {
		v.Errorf(p+".rate_limit.per_second", "must not be negative, got %d (rate_limit.disabled: true turns the limit off)", c.RateLimit.PerSecond)
	}
	if c.RateLimit.Burst < 0 {
		v.Errorf(p+".rate_limit.burst", "must not be negative, got %d", c.RateLimit.Burst)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"keys_reload_interval", c.KeysReloadInterval}, {"store_key_cache_ttl", c.StoreKeyCacheTTL},
		{"clock_skew", c.ClockSkew}, {"read_header_timeout", c.ReadHeaderTimeout},
		{"idle_timeout", c.IdleTimeout}, {"shutdown_timeout", c.ShutdownTimeout},
		{"dial_timeout", c.DialTimeout}, {"response_header_timeout", c.ResponseHeaderTimeout},
		{"stream_idle_timeout", c.StreamIdleTimeout},
	} {
		if d.d < 0 {
			v.Errorf(p+"."+d.name, "must not be negative")
		}
	}
	if len(c.Routes) == 0 {
		v.Errorf(p+".routes", "at least one route is needed when the gateway is enabled")
	}
	seen := map[string]bool{}
	for i, r := range c.Routes {
		rp := fmt.Sprintf("%s.routes[%d]", p, i)
		if !strings.HasPrefix(r.Prefix, "/") || strings.Contains(r.Prefix, "//") || strings.Contains(r.Prefix, "/../") || strings.HasSuffix(r.Prefix, "/..") || strings.ContainsAny(r.Prefix, "?#%") {
			v.Errorf(rp+".prefix", "must be a clean absolute path such as /v0, not %q", r.Prefix)
		}
		if seen[r.Prefix] {
			v.Errorf(rp+".prefix", "%q is already routed", r.Prefix)
		}
		seen[r.Prefix] = true
		u, err := url.Parse(r.Upstream)
		switch {
		case err != nil:
			v.Errorf(rp+".upstream", "not a URL: %v", err)
		case u.Scheme == "unix":
			if u.Path == "" {
				v.Errorf(rp+".upstream", "unix upstream needs a socket path (unix:///run/app.sock)")
			}
		case u.Scheme == "http" || u.Scheme == "https":
			if u.Host == "" {
				v.Errorf(rp+".upstream", "needs a host: http://HOST:PORT")
			}
			if u.RawQuery != "" || u.Fragment != "" {
				v.Errorf(rp+".upstream", "must not carry a query or fragment")
			}
		default:
			v.Errorf(rp+".upstream", "must start with http://, https:// or unix://, not %q", r.Upstream)
		}
		if r.UpstreamCA != "" && u != nil && u.Scheme != "https" {
			v.Errorf(rp+".upstream_ca", "only for an https upstream")
		}
		checkGroups(v, rp+".groups", r.Groups)
		for a, gs := range r.Actions {
			if a == "" || strings.Contains(a, "/") {
				v.Errorf(rp+".actions", "action %q must be one path segment", a)
			}
			if len(gs) == 0 {
				v.Errorf(rp+".actions."+a, "needs at least one group")
			}
			checkGroups(v, rp+".actions."+a, gs)
		}
		if r.ResponseHeaderTimeout < 0 {
			v.Errorf(rp+".response_header_timeout", "must not be negative")
		}
	}
}

// checkGroups refuses group names no key can have: empty, or holding a
// comma or a blank (keys' groups are comma-separated and trimmed), which
// would silently shut everyone out.
func checkGroups(v *Validator, field string, gs []string) {
	for _, g := range gs {
		if g == "" || strings.ContainsAny(g, ", \t") {
			v.Errorf(field, "group %q: a group name is one word without commas or blanks (list groups as separate items)", g)
		}
	}
}

func gwDef(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

func gwDefDur(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// reservedIdentityHeader reports whether h cannot carry an identity: a
// header net/http writes itself or drops (Host, Content-Length, hop-by-hop
// ones), or one the proxy sets (X-Forwarded-*, Forwarded).
func reservedIdentityHeader(h string) bool {
	l := strings.ToLower(h)
	switch l {
	case "host", "content-length", "transfer-encoding", "trailer", "te", "connection",
		"keep-alive", "upgrade", "proxy-connection", "proxy-authenticate", "proxy-authorization",
		"user-agent", "forwarded", "expect", "cookie", "content-type":
		return true
	}
	return strings.HasPrefix(l, "x-forwarded-")
}
