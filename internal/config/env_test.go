package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEnvNames(t *testing.T) {
	names := EnvNames()
	for _, want := range []string{"PORTCULLIS_DATA_DIR", "PORTCULLIS_SERVER_ADDR", "PORTCULLIS_STORE_DSN", "PORTCULLIS_API_GATEWAY_REDIS_URL", "PORTCULLIS_ENGINE_UPSTREAM"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s missing", want)
		}
	}
	if slices.Contains(names, "PORTCULLIS_TOKEN_KEYS") {
		t.Error("a list is listed as overridable")
	}
}

func TestUnknownEnv(t *testing.T) {
	env := []string{
		"HOME=/root",
		"PORTCULLIS_STORE_DNS=postgres://u:hunter2@db/portcullis",
		"PORTCULLIS_SERVER_ADDR=127.0.0.1:5001",
		"PORTCULLIS_CONFIG=/etc/portcullis.yaml",
		"PORTCULLIS_ENGINE_TOKEN=abc",
		"PORTCULLIS_SOMETHING_ELSE_ENTIRELY=1",
		"PORTCULLIS_API_GATEWAY_REDIS_URLS=redis://h",
	}
	got := UnknownEnv(env, "PORTCULLIS_ENGINE_TOKEN")
	want := []string{
		"environment variable PORTCULLIS_API_GATEWAY_REDIS_URLS is not a Portcullis setting and is ignored (did you mean PORTCULLIS_API_GATEWAY_REDIS_URL?)",
		"environment variable PORTCULLIS_SOMETHING_ELSE_ENTIRELY is not a Portcullis setting and is ignored",
		"environment variable PORTCULLIS_STORE_DNS is not a Portcullis setting and is ignored (did you mean PORTCULLIS_STORE_DSN?)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "abc", 0}, {"DNS", "DSN", 2}, {"URL", "URLS", 1}, {"kitten", "sitting", 3}, {"a", "bcdef", 3}} {
		if got := editDistance(c.a, c.b, 3); got != min(c.d, 3) {
			t.Errorf("%q %q: %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Every name EnvNames lists must set its field: a listed override that is
// silently ignored (a pointer to a duration) is worse than an unknown one,
// which at least draws a warning.
func TestEnvSetsPointerFields(t *testing.T) {
	c, err := Parse(nil, "/tmp/pc", envMap(map[string]string{
		"PORTCULLIS_API_GATEWAY_MAX_LIFETIME":       "2m",
		"PORTCULLIS_API_GATEWAY_STORE_KEYS":         "false",
		"PORTCULLIS_API_GATEWAY_NEWLINE_SIGNATURES": "false",
		"PORTCULLIS_AUTHN_CACHE_ENABLED":            "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.APIGateway.MaxTokenLifetime(); got != 2*time.Minute {
		t.Errorf("api_gateway.max_lifetime from the environment: %s, want 2m", got)
	}
	if c.APIGateway.StoreKeysEnabled() || c.APIGateway.NewlineSignaturesEnabled() || c.Authn.Cache.On() {
		t.Error("a *bool override was ignored")
	}
	// An explicit 0 turns the cap off, as in YAML.
	c, err = Parse(nil, "/tmp/pc", envMap(map[string]string{"PORTCULLIS_API_GATEWAY_MAX_LIFETIME": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.APIGateway.MaxTokenLifetime(); got != 0 {
		t.Errorf("PORTCULLIS_API_GATEWAY_MAX_LIFETIME=0: cap %s, want none", got)
	}
	if _, err := Parse(nil, "/tmp/pc", envMap(map[string]string{"PORTCULLIS_API_GATEWAY_MAX_LIFETIME": "soon"})); err == nil {
		t.Error("PORTCULLIS_API_GATEWAY_MAX_LIFETIME=soon accepted")
	}
}

// token.refresh_expiration: 0 means refresh tokens that never expire, as
// documented; leaving it out gives 90 days.
func TestRefreshExpirationZeroMeansNone(t *testing.T) {
	c, err := Parse(nil, "/tmp/pc", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Token.RefreshExpiration; got != 90*24*time.Hour {
		t.Errorf("default refresh lifetime %s, want 2160h", got)
	}
	for _, c := range []struct {
		yaml string
		env  map[string]string
	}{
		{"token: {refresh_expiration: 0s}\n", nil},
		{"", map[string]string{"PORTCULLIS_TOKEN_REFRESH_EXPIRATION": "0s"}},
	} {
		cfg, err := Parse([]byte(c.yaml), "/tmp/pc", envMap(c.env))
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Token.RefreshExpiration; got != 0 {
			t.Errorf("%q %v: refresh lifetime %s, want 0 (no expiry)", c.yaml, c.env, got)
		}
	}
	if _, err := Parse([]byte("token: {refresh_expiration: -1h}\n"), "/tmp/pc", noEnv); err == nil || !strings.Contains(err.Error(), "token.refresh_expiration") {
		t.Errorf("negative refresh_expiration: %v", err)
	}
}

// yaml reads a duration without a unit as a number; the error says what to
// write instead.
func TestDurationWithoutUnit(t *testing.T) {
	_, err := Parse([]byte("api_gateway:\n  max_lifetime: 0\n"), "/tmp/pc", noEnv)
	if err == nil || !strings.Contains(err.Error(), "a duration needs a unit: 0s") {
		t.Fatalf("max_lifetime: 0: %v", err)
	}
}
