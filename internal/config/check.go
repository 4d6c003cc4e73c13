package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/acl"
)

// SigningAlgorithms lists the accepted key algorithms.
var SigningAlgorithms = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "EdDSA", "HS256", "HS384", "HS512"}

// AuthenticatorTypes lists the accepted authenticator types.
var AuthenticatorTypes = []string{"static", "htpasswd", "db", "apptoken", "ldap"}

func oneOf(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

// Validate checks the whole configuration and reports every problem.
func (c *Config) Validate() error {
	v := &Validator{}
	if !oneOf(c.Log.Level, []string{"debug", "info", "warn", "error"}) {
		v.Errorf("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if !oneOf(c.Log.Format, []string{"text", "json"}) {
		v.Errorf("log.format", "must be text or json, not %q", c.Log.Format)
	}
	if _, err := netip.ParseAddrPort(c.Server.Addr); err != nil && !strings.HasPrefix(c.Server.Addr, ":") {
		v.Errorf("server.addr", "must be HOST:PORT with an IP host (e.g. 127.0.0.1:5001), not %q", c.Server.Addr)
	}
	if c.Server.Insecure && (c.Server.TLSCert != "" || c.Server.TLSKey != "") {
		v.Errorf("server.insecure_http", "cannot be combined with server.tls_cert/tls_key")
	}
	// net/http takes a negative timeout as no timeout at all.
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"read_header_timeout", c.Server.ReadHeaderTimeout}, {"read_timeout", c.Server.ReadTimeout},
		{"write_timeout", c.Server.WriteTimeout}, {"idle_timeout", c.Server.IdleTimeout},
		{"shutdown_timeout", c.Server.ShutdownTimeout},
	} {
		if d.v < 0 {
			v.Errorf("server."+d.name, "must be positive (leave it out for the default), got %s", d.v)
		}
	}
	for i, p := range c.Server.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			v.Errorf(fmt.Sprintf("server.trusted_proxies[%d]", i), "not a CIDR: %q", p)
		}
	}

	if c.Token.Issuer == "" {
		v.Errorf("token.issuer", "must not be empty")
	}
	if c.Token.Service == "" {
		v.Errorf("token.service", "must not be empty")
	}
	if c.Token.Expiration < 60*time.Second {
		v.Errorf("token.expiration", "must be at least 60s (clients treat shorter tokens as 60s), got %s", c.Token.Expiration)
	}
	if c.Token.Expiration > 24*time.Hour {
		v.Errorf("token.expiration", "must be at most 24h, got %s", c.Token.Expiration)
	}
	if c.Token.RefreshLifetime() < 0 {
		v.Errorf("token.refresh_expiration", "must not be negative (0 means refresh tokens do not expire), got %s", c.Token.RefreshLifetime())
	}
	seenRoutes := map[string]string{}
	for i, r := range append([]string{c.Token.Route}, c.Token.Aliases...) {
		path := "token.route"
		if i > 0 {
			path = fmt.Sprintf("token.aliases[%d]", i-1)
		}
		if !strings.HasPrefix(r, "/") {
			v.Errorf(path, "must start with /, got %q", r)
			continue
		}
		if msg := checkRoute(r); msg != "" {
			v.Errorf(path, "%s, got %q", msg, r)
			continue
		}
		// Each route also answers below r/: compare without the slash.
		key := strings.TrimSuffix(r, "/")
		if other, dup := seenRoutes[key]; dup {
			v.Errorf(path, "%q is already the token endpoint as %s", r, other)
			continue
		}
		seenRoutes[key] = path
	}
	signers := 0
	for i, k := range c.Token.Keys {
		path := fmt.Sprintf("token.keys[%d]", i)
		if !oneOf(k.Alg, SigningAlgorithms) {
			v.Errorf(path+".alg", "unsupported algorithm %q (use one of %s)", k.Alg, strings.Join(SigningAlgorithms, ", "))
		}
		if strings.HasPrefix(k.Alg, "HS") && !c.Token.AllowHMAC {
			v.Errorf(path+".alg", "%s tokens cannot be verified by a Docker registry (it needs a public key); use ES256, RS256 or EdDSA, or set token.allow_hmac: true if the consumer is not a registry", k.Alg)
		}
		if k.Key == "" {
			v.Errorf(path+".key", "must name a key file")
		}
		if k.Sign {
			signers++
		}
	}
	if signers > 1 {
		v.Errorf("token.keys", "only one key may have sign: true, found %d", signers)
	}

	names := map[string]bool{}
	for i, a := range c.Authn.Chain {
		path := fmt.Sprintf("authn.chain[%d]", i)
		if !oneOf(a.Type, AuthenticatorTypes) {
			v.Errorf(path+".type", "unknown authenticator type %q (use one of %s)", a.Type, strings.Join(AuthenticatorTypes, ", "))
		}
		if names[a.Name] {
			v.Errorf(path+".name", "duplicate authenticator name %q", a.Name)
		}
		names[a.Name] = true
		if a.OnError != "fail" && a.OnError != "skip" {
			v.Errorf(path+".on_error", "must be fail or skip, not %q", a.OnError)
		}
		if a.Type != "static" && len(a.Users) > 0 {
			v.Errorf(path+".users", "only for type static")
		}
		if a.Type != "htpasswd" && a.Path != "" {
			v.Errorf(path+".path", "only for type htpasswd")
		}
		if a.Type != "ldap" && a.LDAP != nil {
			v.Errorf(path+".ldap", "only for type ldap")
		}
		switch a.Type {
		case "htpasswd":
			if a.Path == "" {
				v.Errorf(path+".path", "must name the htpasswd file")
			}
		case "ldap":
			if a.LDAP == nil {
				v.Errorf(path+".ldap", "must be set for type ldap")
			} else {
				a.LDAP.validate(v, path+".ldap")
			}
		case "static":
			for name, u := range a.Users {
				if !strings.HasPrefix(u.Password, "$2") {
					v.Errorf(path+".users."+name+".password", "must be a bcrypt hash (make one with `portcullis hash`)")
				}
			}
		}
	}
	// The chain stops at the first authenticator that denies, and a
	// password authenticator denies a user it knows whose password is
	// wrong: an app token presented as that user's password after such a
	// link would be refused before the apptoken link saw it.
	password := -1
	for i, a := range c.Authn.Chain {
		switch a.Type {
		case "static", "htpasswd", "db", "ldap":
			if password < 0 {
				password = i
			}
		case "apptoken":
			if password >= 0 {
				v.Errorf(fmt.Sprintf("authn.chain[%d]", i), "the apptoken authenticator must come before the password authenticator authn.chain[%d] (%s): the chain stops at the first denial, so an app token would be tried as a password first and refused", password, c.Authn.Chain[password].Type)
			}
		}
	}
	if c.Authn.Cache.TTL < 0 {
		v.Errorf("authn.cache.ttl", "must not be negative")
	}
	if c.Authn.Cache.MaxEntries < 0 {
		v.Errorf("authn.cache.max_entries", "must not be negative")
	}
	if c.Authn.BcryptCost < 4 || c.Authn.BcryptCost > 31 {
		v.Errorf("authn.bcrypt_cost", "must be between 4 and 31, got %d", c.Authn.BcryptCost)
	}
	if c.AppTokens.DefaultExpiry < 0 {
		v.Errorf("app_tokens.default_expiry", "must not be negative (0 means tokens do not expire unless asked), got %s", c.AppTokens.DefaultExpiry)
	}
	if c.AppTokens.MaxPerUser < 0 {
		v.Errorf("app_tokens.max_per_user", "must not be negative")
	}
	if !c.ACLDefault {
		if _, err := acl.New(c.ACL); err != nil {
			var ae *acl.Error
			if errors.As(err, &ae) {
				v.errs = append(v.errs, ae.Problems...)
			} else {
				v.Errorf("acl", "%v", err)
			}
		}
	}
	c.Store.validate(v, "store")
	c.Engine.validate(v, "engine")
	c.APIGateway.validate(v, "api_gateway")
	return v.Err()
}

// reservedRoutes are served by Portcullis itself; a token route on one of
// them would make the HTTP mux refuse to start (or hide the endpoint).
var reservedRoutes = []string{"/healthz", "/readyz", "/metrics", "/.well-known/jwks.json", "/api", "/.well-known"}

// checkRoute says what is wrong with a token route (or ""): a plain URL
// path of unreserved characters, not "/" alone, not a path Portcullis
// serves itself.
func checkRoute(r string) string {
	if r == "/" {
		return "must not be / (it would answer every unknown path)"
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '/', c == '-', c == '_', c == '.', c == '~':
		default:
			return "must be a plain URL path (letters, digits, / - _ . ~)"
		}
	}
	if strings.Contains(r, "//") || strings.Contains(r, "/./") || strings.Contains(r, "/../") ||
		strings.HasSuffix(r, "/.") || strings.HasSuffix(r, "/..") {
		return "must be a clean URL path"
	}
	t := strings.TrimSuffix(r, "/")
	for _, res := range reservedRoutes {
		if t == res || strings.HasPrefix(t, res+"/") {
			return fmt.Sprintf("must not be %s or below it (Portcullis serves it)", res)
		}
	}
	return ""
}

// SlogLevel is Log.Level as a slog level.
func (c *Config) SlogLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.Log.Level))
	return l
}
