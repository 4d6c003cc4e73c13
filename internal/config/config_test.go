package config

import (
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func TestDefaults(t *testing.T) {
	c, err := Parse(nil, "/tmp/pc", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != "127.0.0.1:5001" || c.Token.Route != "/token" || c.Token.Keys[0].Alg != "ES256" ||
		c.Authn.BcryptCost != 10 || !c.ACLDefault || c.AppTokens.MaxPerUser != 5 || c.Server.TLSCert != "/tmp/pc/tls.crt" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if len(c.Authn.Chain) != 3 || c.Authn.Chain[1].Path != "/tmp/pc/htpasswd" {
		t.Fatalf("default chain %+v", c.Authn.Chain)
	}
}

func TestUnknownKeysAreErrors(t *testing.T) {
	for _, y := range []string{
		"servr:\n  addr: 127.0.0.1:1\n",
		"acl:\n  - match: {acount: alice}\n    actions: [pull]\n",
		"token:\n  keys:\n    - {key: k, algo: ES256}\n",
	} {
		if _, err := Parse([]byte(y), "/tmp/pc", noEnv); err == nil {
			t.Errorf("accepted %q", y)
		}
	}
}

func TestValidationNamesEveryField(t *testing.T) {
	y := `
log: {level: loud}
server: {addr: "nowhere"}
token:
  expiration: 10s
  keys:
    - {key: a, alg: HS256}
    - {key: b, alg: XX512}
authn:
  chain:
    - {type: htpasswd}
    - {type: magic}
acl:
  - match: {name: "/[/"}
    actions: [pull]
`
	_, err := Parse([]byte(y), "/tmp/pc", noEnv)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"log.level", "server.addr", "token.expiration", "token.keys[0].alg", "registry",
		"token.keys[1].alg", "authn.chain[0].path", "authn.chain[1].type", "acl[0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestHMACNeedsOptIn(t *testing.T) {
	y := "token:\n  allow_hmac: true\n  keys:\n    - {key: k, alg: HS256, sign: true}\n"
	if _, err := Parse([]byte(y), "/tmp/pc", noEnv); err != nil {
		t.Fatalf("HS256 with allow_hmac refused: %v", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := map[string]string{
		"PORTCULLIS_SERVER_ADDR":          "127.0.0.1:9999",
		"PORTCULLIS_TOKEN_EXPIRATION":     "10m",
		"PORTCULLIS_SERVER_INSECURE_HTTP": "true",
		"PORTCULLIS_AUTHN_CACHE_ENABLED":  "false",
	}
	c, err := Parse([]byte("server: {addr: 127.0.0.1:1}\n"), "/tmp/pc", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != "127.0.0.1:9999" || c.Token.Expiration != 10*time.Minute || !c.Server.Insecure || c.Authn.Cache.On() {
		t.Fatalf("env not applied: %+v", c.Server)
	}
	_, err = Parse(nil, "/tmp/pc", func(k string) (string, bool) {
		if k == "PORTCULLIS_TOKEN_EXPIRATION" {
			return "soon", true
		}
		return "", false
	})
	if err == nil || !strings.Contains(err.Error(), "token.expiration") {
		t.Fatalf("bad env value: %v", err)
	}
}

// The chain stops at the first denial, so an apptoken link after a
// password link never sees the tokens of users that link knows.
func TestAppTokenAfterPasswordAuthenticatorRefused(t *testing.T) {
	y := `
authn:
  chain:
    - {type: htpasswd, path: /tmp/pc/htpasswd}
    - {type: apptoken}
`
	_, err := Parse([]byte(y), "/tmp/pc", noEnv)
	if err == nil || !strings.Contains(err.Error(), "authn.chain[1]") || !strings.Contains(err.Error(), "tried as a password") {
		t.Fatalf("apptoken after htpasswd: %v", err)
	}
	ok := "authn:\n  chain:\n    - {type: apptoken}\n    - {type: htpasswd, path: /tmp/pc/htpasswd}\n    - {type: db}\n"
	if _, err := Parse([]byte(ok), "/tmp/pc", noEnv); err != nil {
		t.Fatalf("apptoken first refused: %v", err)
	}
}

func TestNegativeAppTokenExpiryRefused(t *testing.T) {
	_, err := Parse([]byte("app_tokens:\n  default_expiry: -1h\n"), "/tmp/pc", noEnv)
	if err == nil || !strings.Contains(err.Error(), "app_tokens.default_expiry") {
		t.Fatalf("negative default_expiry: %v", err)
	}
}

// A negative server timeout would switch the timeout off in net/http.
func TestNegativeServerTimeoutsRefused(t *testing.T) {
	y := "server:\n  read_header_timeout: -1s\n  read_timeout: -1s\n  write_timeout: -1s\n  idle_timeout: -1s\n  shutdown_timeout: -1s\n"
	_, err := Parse([]byte(y), "/tmp/pc", noEnv)
	if err == nil {
		t.Fatal("negative timeouts accepted")
	}
	for _, f := range []string{"read_header_timeout", "read_timeout", "write_timeout", "idle_timeout", "shutdown_timeout"} {
		if !strings.Contains(err.Error(), "server."+f) {
			t.Errorf("error does not name server.%s: %v", f, err)
		}
	}
}

// A token route that repeats another, or sits on a path Portcullis
// serves, made the HTTP mux panic at start.
func TestTokenRoutesDistinctAndFree(t *testing.T) {
	for _, c := range []struct{ yaml, field string }{
		{"token:\n  route: /auth\n", "token.aliases[0]"},
		{"token:\n  route: /t\n  aliases: [/t/]\n", "token.aliases[0]"},
		{"token:\n  route: /api/v1/\n", "token.route"},
		{"token:\n  route: /metrics\n", "token.route"},
		{"token:\n  aliases: [/healthz]\n", "token.aliases[0]"},
		{"token:\n  route: \"/{x}\"\n", "token.route"},
		{"token:\n  route: \"/a b\"\n", "token.route"},
		{"token:\n  route: /\n", "token.route"},
	} {
		_, err := Parse([]byte(c.yaml), "/tmp/pc", noEnv)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%q: %v, want an error naming %s", c.yaml, err, c.field)
		}
	}
	if _, err := Parse([]byte("token:\n  route: /v2/auth/token\n  aliases: [/auth, /token]\n"), "/tmp/pc", noEnv); err != nil {
		t.Errorf("distinct routes refused: %v", err)
	}
}

// token.refresh_expiration is documented as "0 = none": an explicit 0 must
// not be replaced by the 90-day default, and a negative lifetime (which
// the token service would also take as "never expires") is refused.
func TestRefreshExpiration(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		env  map[string]string
		want time.Duration
		err  string
	}{
		{name: "default", yaml: "", want: 90 * 24 * time.Hour},
		{name: "set", yaml: "token:\n  refresh_expiration: 720h\n", want: 720 * time.Hour},
		{name: "zero is none", yaml: "token:\n  refresh_expiration: 0s\n", want: 0},
		{name: "zero from the environment", env: map[string]string{"PORTCULLIS_TOKEN_REFRESH_EXPIRATION": "0s"}, want: 0},
		{name: "negative", yaml: "token:\n  refresh_expiration: -1h\n", err: "token.refresh_expiration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			c, err := Parse([]byte(tc.yaml), t.TempDir(), env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want an error naming %s, got %v", tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Token.RefreshExpiration != tc.want {
				t.Fatalf("refresh_expiration %s, want %s", c.Token.RefreshExpiration, tc.want)
			}
		})
	}
}
