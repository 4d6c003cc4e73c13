package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// withBuildx makes docker buildx available to this client only, so that
// `docker build` in the other tests stays the classic builder.
func (c *client) withBuildx(t *testing.T, bin string) { c.withPlugin(t, "docker-buildx", bin) }

// withPlugin links a docker CLI plugin into this client's DOCKER_CONFIG.
func (c *client) withPlugin(t *testing.T, name, bin string) {
	t.Helper()
	dir := filepath.Join(c.configDir, "cli-plugins")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// TestBuildxWithoutConnectorIsToldWhatToDo: buildx makes its own API
// client from the docker context and sends no HttpHeaders, so it reaches
// the gateway without a token; the refusal must name the way out instead
// of repeating the HttpHeaders advice the user already followed.
// (TestConnector builds through the connector.)
func TestBuildxWithoutConnectorIsToldWhatToDo(t *testing.T) {
	buildx := testenv.Buildx(t)
	g := startGateway(t, nil)
	c := g.client(g.token(uniqueName("bk"), "full", time.Time{}))
	c.withBuildx(t, buildx)
	ctxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM "+busybox+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := c.tryIn(t, nil, nil, "buildx", "build", "--progress", "plain", ctxDir)
	if r.code == 0 {
		t.Fatal("buildx reached the daemon without a token")
	}
	if !strings.Contains(r.stderr, "portcullis engine connect") {
		t.Fatalf("buildx's error does not point to the connector:\n%s", r.stderr)
	}
}
