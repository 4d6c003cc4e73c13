package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/engine"
	"github.com/portcullis/portcullis/internal/testenv"
)

// connectClient is the docker CLI on a connector's socket: no token and
// no TLS settings of its own.
type connectClient struct {
	*client
	sock string
}

// startConnector runs a connector for tok in front of g and returns a CLI
// that talks to it.
func (g *gw) startConnector(t *testing.T, tok string) *connectClient {
	t.Helper()
	c, err := engine.NewConnector(engine.ConnectOptions{Gateway: "tcp://" + g.addr, RootCAs: g.pool, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	// A short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "pcc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	ln, err := engine.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln, 2*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("connector: %v", err)
		}
	})
	cl := g.clientWithHeader("", "") // config.json without HttpHeaders
	return &connectClient{client: cl, sock: sock}
}

func (c *connectClient) env() []string {
	return append(testenv.CleanDockerEnv(), "DOCKER_HOST=unix://"+c.sock, "DOCKER_CONFIG="+c.configDir)
}

// do runs the CLI on the connector's socket.
func (c *connectClient) do(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.cmd(ctx, args...)
	cmd.Env = c.env()
	if stdin == "" {
		return runResult(t, ctx, cmd, nil)
	}
	return runResult(t, ctx, cmd, strings.NewReader(stdin))
}

func TestConnectorSocketIsPrivate(t *testing.T) {
	dir, err := os.MkdirTemp("", "pcc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s.sock")
	ln, err := engine.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("socket mode %o, want 600", perm)
	}
	// A regular file in the way is not removed.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.ListenUnix(file); err == nil {
		t.Fatal("listened over a regular file")
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Fatal("the regular file was changed")
	}
}

func TestNewConnectorRefusesBadOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		opts engine.ConnectOptions
		want string
	}{
		{"no gateway", engine.ConnectOptions{Token: "pce_x"}, "address is required"},
		{"unix gateway", engine.ConnectOptions{Gateway: "unix:///var/run/docker.sock", Token: "pce_x"}, "want tcp://"},
		{"no port", engine.ConnectOptions{Gateway: "tcp://host", Token: "pce_x"}, "nothing after the port"},
		{"path", engine.ConnectOptions{Gateway: "tcp://host:2376/v1.41", Token: "pce_x"}, "nothing after the port"},
		{"no token", engine.ConnectOptions{Gateway: "tcp://host:2376"}, "no token"},
		{"token with newline inside", engine.ConnectOptions{Gateway: "tcp://host:2376", Token: "pce_a\nb"}, "control characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := engine.NewConnector(c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestConnector runs docker clients that send no token of their own
// through a connector: the CLI, exec with stdin, and a BuildKit build with
// buildx, which ignores HttpHeaders.
func TestConnector(t *testing.T) {
	g := startGateway(t, nil)
	full := g.startConnector(t, g.token(uniqueName("conn"), "full", time.Time{}))

	t.Run("version and ps", func(t *testing.T) {
		r := full.do(t, "", "version", "--format", "{{.Server.Version}}")
		if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
			t.Fatalf("docker version: exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
		if r := full.do(t, "", "ps", "-a"); r.code != 0 {
			t.Fatalf("docker ps: exit %d: %s", r.code, r.stderr)
		}
	})

	t.Run("run with stdin to EOF", func(t *testing.T) {
		r := full.do(t, "hello through the connector\n", "run", "--rm", "-i", "--network", "none", busybox, "cat")
		if r.code != 0 || r.stdout != "hello through the connector\n" {
			t.Fatalf("run -i: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("buildx build", func(t *testing.T) {
		buildx := testenv.Buildx(t)
		full.withBuildx(t, buildx)
		ctxDir := t.TempDir()
		df := "FROM " + busybox + "\nRUN echo built-by-buildkit > /marker\n"
		if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		tag := "pcconn/" + uniqueName("img") + ":1"
		r := full.do(t, "", "buildx", "build", "--network", "none", "--progress", "plain", "-t", tag, ctxDir)
		if r.code != 0 {
			t.Fatalf("buildx build: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		t.Cleanup(func() { full.do(t, "", "rmi", "-f", tag) })
		r = full.do(t, "", "run", "--rm", "--network", "none", tag, "cat", "/marker")
		if strings.TrimSpace(r.stdout) != "built-by-buildkit" {
			t.Fatalf("image built through the connector: %q %s", r.stdout, r.stderr)
		}
	})

	t.Run("policy still applies", func(t *testing.T) {
		ro := g.startConnector(t, g.token(uniqueName("connro"), "read-only", time.Time{}))
		if r := ro.do(t, "", "ps"); r.code != 0 {
			t.Fatalf("read-only ps: exit %d: %s", r.code, r.stderr)
		}
		r := ro.do(t, "", "volume", "create", uniqueName("v"))
		if r.code == 0 || !strings.Contains(r.stderr, "portcullis") {
			t.Fatalf("read-only volume create through the connector: exit %d: %s", r.code, r.stderr)
		}
	})

	t.Run("wrong token fails at ping", func(t *testing.T) {
		c, err := engine.NewConnector(engine.ConnectOptions{Gateway: "tcp://" + g.addr, RootCAs: g.pool, Token: "pce_wrong"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = c.Ping(ctx)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("Ping with a wrong token: %v", err)
		}
	})
}
