package config

import (
	"slices"
	"strings"
	"testing"
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
