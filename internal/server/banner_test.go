package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/server"
)

func banner(t *testing.T, extraYAML string) string {
	t.Helper()
	y := fmt.Sprintf("data_dir: %s\nauthn: {bcrypt_cost: 4}\n", t.TempDir()) + extraYAML
	cfg, err := config.Parse([]byte(y), "", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var b bytes.Buffer
	srv.PrintBanner(&b)
	return b.String()
}

// The start-up banner's instructions must fit the configuration they are
// printed for.
func TestBannerFitsTheConfig(t *testing.T) {
	def := banner(t, "")
	if !strings.Contains(def, "set token.omit_x5c: true") || !strings.Contains(def, "tls.crt") {
		t.Errorf("default banner:\n%s", def)
	}

	omit := banner(t, "token: {omit_x5c: true}\n")
	if strings.Contains(omit, "set token.omit_x5c: true") {
		t.Errorf("omit_x5c is already on, yet the banner asks to set it:\n%s", omit)
	}
	if !strings.Contains(omit, "# jwks: ") {
		t.Errorf("omit_x5c banner does not name the JWKS file:\n%s", omit)
	}

	plain := banner(t, "server: {insecure_http: true}\n")
	if strings.Contains(plain, "TLS certificate :") || strings.Contains(plain, "trust its TLS certificate") {
		t.Errorf("insecure_http banner names a certificate this server does not have:\n%s", plain)
	}
	if !strings.Contains(plain, "realm: https://PROXY_HOST") {
		t.Errorf("insecure_http banner does not say the realm is the TLS proxy's URL:\n%s", plain)
	}
}
