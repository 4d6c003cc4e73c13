// Package config is Portcullis' configuration: one struct tree loaded from
// strict YAML (a key the loader does not know is an error), completed with
// defaults, overridden from PORTCULLIS_* environment variables and
// validated with messages that name the field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/acl"
	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration.
type Config struct {
	// DataDir holds generated keys and certificates, the htpasswd file and
	// the SQLite database.
	DataDir string     `yaml:"data_dir"`
	Log     LogConfig  `yaml:"log"`
	Server  Server     `yaml:"server"`
	Token   Token      `yaml:"token"`
	Authn   Authn      `yaml:"authn"`
	ACL     []acl.Rule `yaml:"acl"`
	// ACLDefault is true when no acl section was given and the built-in
	// default rules apply.
	ACLDefault bool `yaml:"-"`

	Store      StoreConfig      `yaml:"store"`
	AppTokens  AppTokens        `yaml:"app_tokens"`
	Engine     EngineConfig     `yaml:"engine"`
	APIGateway APIGatewayConfig `yaml:"api_gateway"`
}

// LogConfig selects the log format and level.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Server is the main HTTPS listener (token service, JWKS, API, metrics).
type Server struct {
	Addr string `yaml:"addr"`
	// TLSCert and TLSKey default to DATA_DIR/tls.crt and tls.key, made
	// self-signed for localhost on first start.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Insecure serves plain HTTP, for use behind a TLS-terminating proxy.
	Insecure bool `yaml:"insecure_http"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed for the
	// client address.
	TrustedProxies    []string      `yaml:"trusted_proxies"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
}

// Token configures the registry token service.
type Token struct {
	// Issuer is the `iss` claim; the registry's auth.token.issuer.
	Issuer string `yaml:"issuer"`
	// Service is the registry's auth.token.service; requests naming
	// another service are refused. It is also the `aud` claim.
	Service string `yaml:"service"`
	// Services lists further accepted service names (several registries
	// behind one token server).
	Services []string `yaml:"services"`
	// Expiration of issued tokens (at least 60s: clients cache shorter
	// ones anyway).
	Expiration time.Duration `yaml:"expiration"`
	// Route is the token endpoint; Aliases also answer.
	Route   string   `yaml:"route"`
	Aliases []string `yaml:"aliases"`
	// Keys: the first with sign: true (or the first of all) signs; all are
	// published in the JWKS so keys rotate without downtime.
	Keys []KeyConfig `yaml:"keys"`
	// RefreshExpiration is how long a refresh token (docker's identity
	// token) stays valid; 0 means no expiry. Unset, it is
	// DefaultRefreshExpiration.
	RefreshExpiration time.Duration `yaml:"refresh_expiration"`
	// AllowHMAC permits HS256/384/512 signing keys. Docker registries
	// cannot verify HMAC-signed tokens, so this is only for other
	// consumers that share the secret.
	AllowHMAC bool `yaml:"allow_hmac"`
	// OmitX5C leaves the certificate chain out of token headers. A
	// registry that finds an x5c header verifies it against its
	// rootcertbundle only, so a 3.x registry configured with a JWKS and no
	// bundle needs tokens that carry just the kid.
	OmitX5C bool `yaml:"omit_x5c"`
}

// KeyConfig is one signing key.
type KeyConfig struct {
	Key  string `yaml:"key"`  // PEM private key (or HMAC secret file for HS*)
	Cert string `yaml:"cert"` // PEM certificate, for x5c and rootcertbundle
	Alg  string `yaml:"alg"`
	Sign bool   `yaml:"sign"`
}

// Authn configures the authentication chain.
type Authn struct {
	// Chain is the ordered list of authenticators. Empty means the
	// default: app tokens, DATA_DIR/htpasswd (a missing file holds no
	// users), database users.
	Chain      []AuthenticatorConfig `yaml:"chain"`
	Cache      CacheConfig           `yaml:"cache"`
	BcryptCost int                   `yaml:"bcrypt_cost"`
}

// AuthenticatorConfig is one link of the chain; Type selects which
// settings apply.
type AuthenticatorConfig struct {
	Name string `yaml:"name"`
	// Type is static, htpasswd, db, apptoken or ldap.
	Type string `yaml:"type"`
	// OnError is what a backend failure does: "fail" (default, answer 503)
	// or "skip" (go on to the next authenticator).
	OnError string `yaml:"on_error"`
	// Users are the static users (type static).
	Users map[string]StaticUser `yaml:"users"`
	// Path is the htpasswd file (type htpasswd).
	Path string `yaml:"path"`
	// LDAP settings (type ldap).
	LDAP *LDAPConfig `yaml:"ldap"`
	// Admins lists accounts of this backend that are administrators
	// (htpasswd, ldap).
	Admins []string `yaml:"admins"`
}

// StaticUser is a user defined in the config file.
type StaticUser struct {
	Password string              `yaml:"password"` // bcrypt hash
	Admin    bool                `yaml:"admin"`
	Labels   map[string][]string `yaml:"labels"`
}

// CacheConfig is the verified-credential cache.
type CacheConfig struct {
	Enabled    *bool         `yaml:"enabled"`
	TTL        time.Duration `yaml:"ttl"`
	MaxEntries int           `yaml:"max_entries"`
}

// On reports whether the cache is enabled (default true).
func (c CacheConfig) On() bool { return c.Enabled == nil || *c.Enabled }

// AppTokens configures application tokens.
type AppTokens struct {
	MaxPerUser int `yaml:"max_per_user"`
	// DefaultExpiry applies when a token is created without --expires; 0
	// means tokens do not expire unless asked.
	DefaultExpiry time.Duration `yaml:"default_expiry"`
}

// DefaultRefreshExpiration is token.refresh_expiration when the
// configuration does not set it.
const DefaultRefreshExpiration = 90 * 24 * time.Hour

// Load reads the file at path (or the embedded default when path is "")
// and returns the completed, validated configuration. dataDir, when not
// empty, overrides data_dir.
func Load(path, dataDir string) (*Config, error) {
	var data []byte
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		data = b
	}
	return Parse(data, dataDir, os.LookupEnv)
}

// Parse is Load on bytes, with the environment given as a lookup function.
func Parse(data []byte, dataDir string, env func(string) (string, bool)) (*Config, error) {
	c := &Config{}
	// Defaults whose zero value is a setting of its own ("0 = none") are
	// put in before decoding, so that an explicit 0 is kept.
	c.Token.RefreshExpiration = DefaultRefreshExpiration
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			if strings.Contains(err.Error(), "into time.Duration") {
				// yaml reads "ttl: 0" or "ttl: 300" as a number.
				return nil, fmt.Errorf("parse config: %w (a duration needs a unit: 0s, 90s, 5m, 24h)", err)
			}
			return nil, fmt.Errorf("parse config: %w", err)
		}
	}
	if err := applyEnv(c, env); err != nil {
		return nil, err
	}
	if dataDir != "" {
		c.DataDir = dataDir
	}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) setDefaults() {
	if c.DataDir == "" {
		c.DataDir = "./portcullis-data"
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Log.Level, "info")
	def(&c.Log.Format, "text")
	def(&c.Server.Addr, "127.0.0.1:5001")
	if !c.Server.Insecure {
		def(&c.Server.TLSCert, filepath.Join(c.DataDir, "tls.crt"))
		def(&c.Server.TLSKey, filepath.Join(c.DataDir, "tls.key"))
	}
	defDur(&c.Server.ReadHeaderTimeout, 10*time.Second)
	defDur(&c.Server.ReadTimeout, 30*time.Second)
	defDur(&c.Server.WriteTimeout, 30*time.Second)
	defDur(&c.Server.IdleTimeout, 120*time.Second)
	defDur(&c.Server.ShutdownTimeout, 15*time.Second)

	def(&c.Token.Issuer, "portcullis")
	def(&c.Token.Service, "registry")
	defDur(&c.Token.Expiration, 5*time.Minute)
	def(&c.Token.Route, "/token")
	if c.Token.Aliases == nil {
		c.Token.Aliases = []string{"/auth", "/v2/token"}
	}
	if len(c.Token.Keys) == 0 {
		c.Token.Keys = []KeyConfig{{
			Key:  filepath.Join(c.DataDir, "signing.key"),
			Cert: filepath.Join(c.DataDir, "signing.crt"),
			Alg:  "ES256",
			Sign: true,
		}}
	}
	for i := range c.Token.Keys {
		def(&c.Token.Keys[i].Alg, "ES256")
	}

	if len(c.Authn.Chain) == 0 {
		c.Authn.Chain = []AuthenticatorConfig{
			{Name: "apptoken", Type: "apptoken"},
			{Name: "htpasswd", Type: "htpasswd", Path: filepath.Join(c.DataDir, "htpasswd")},
			{Name: "db", Type: "db"},
		}
	}
	for i := range c.Authn.Chain {
		a := &c.Authn.Chain[i]
		def(&a.Name, a.Type)
		def(&a.OnError, "fail")
		if a.Type == "ldap" && a.LDAP != nil {
			a.LDAP.setDefaults()
		}
	}
	defDur(&c.Authn.Cache.TTL, 5*time.Minute)
	if c.Authn.Cache.MaxEntries == 0 {
		c.Authn.Cache.MaxEntries = 10000
	}
	if c.Authn.BcryptCost == 0 {
		c.Authn.BcryptCost = 10
	}
	if c.ACL == nil {
		c.ACLDefault = true
	}
	if c.AppTokens.MaxPerUser == 0 {
		c.AppTokens.MaxPerUser = 5
	}
	c.Store.setDefaults(c.DataDir)
	c.Engine.setDefaults(c.DataDir)
	c.APIGateway.setDefaults(c.DataDir)
}
