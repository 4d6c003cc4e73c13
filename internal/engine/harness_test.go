package engine_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/engine"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
)

const busybox = "pcbusybox:1"

// gw is a gateway over TLS in front of the shared test dockerd.
type gw struct {
	t       *testing.T
	d       *testenv.Dockerd
	st      *sqlite.Store
	g       *engine.Gateway
	addr    string
	certDir string // holds ca.pem only, as a client's DOCKER_CERT_PATH
	pool    *x509.CertPool
	logs    *testenv.Buffer
	reg     *prometheus.Registry
}

func startGateway(t *testing.T, mutate func(*config.EngineConfig)) *gw {
	t.Helper()
	testenv.Integration(t)
	d := testenv.StartDockerd(t, testenv.DockerdOptions{})
	d.ImportBusybox(t, busybox)
	return startGatewayOn(t, d, mutate)
}

func startGatewayOn(t *testing.T, d *testenv.Dockerd, mutate func(*config.EngineConfig)) *gw {
	t.Helper()
	dir := t.TempDir()
	certs, err := engine.MakeCerts([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := certs.Write(filepath.Join(dir, "srv"), false); err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "client")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(certDir, "ca.pem"), certs.CA, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(nil, dir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ec := cfg.Engine
	ec.Enabled = true
	ec.Upstream = d.Host
	ec.TLSCert = filepath.Join(dir, "srv", "cert.pem")
	ec.TLSKey = filepath.Join(dir, "srv", "key.pem")
	ec.TokenEnv = "-"
	ec.ShutdownTimeout = 2 * time.Second
	if mutate != nil {
		mutate(&ec)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "p.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &testenv.Buffer{}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := prometheus.NewRegistry()
	g, err := engine.New(ec, st, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("gateway did not shut down")
		}
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certs.CA)
	return &gw{t: t, d: d, st: st, g: g, addr: ln.Addr().String(), certDir: certDir, pool: pool, logs: logs, reg: reg}
}

// testWriter sends gateway logs to the test's output.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// token creates a stored token and returns its secret.
func (g *gw) token(name, policy string, expires time.Time) string {
	g.t.Helper()
	tok, err := engine.NewToken()
	if err != nil {
		g.t.Fatal(err)
	}
	if err := g.st.CreateEngineToken(context.Background(), store.EngineToken{
		Name: name, Hash: engine.HashToken(tok), Policy: policy, ExpiresAt: expires,
	}); err != nil {
		g.t.Fatal(err)
	}
	return tok
}

// client is the docker CLI configured for the gateway: TLS verified with
// a ca.pem-only cert path, the token in config.json's HttpHeaders.
type client struct {
	g         *gw
	configDir string
}

func (g *gw) client(tok string) *client {
	g.t.Helper()
	if tok == "" {
		return g.clientWithHeader("", "")
	}
	return g.clientWithHeader("Authorization", "Bearer "+tok)
}

// clientWithHeader is the docker CLI sending header: value with every
// request (HttpHeaders), for example the SOAJS "token" header.
func (g *gw) clientWithHeader(header, value string) *client {
	g.t.Helper()
	dir := g.t.TempDir()
	cfg := map[string]any{}
	if header != "" {
		cfg["HttpHeaders"] = map[string]string{header: value}
	}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		g.t.Fatal(err)
	}
	return &client{g: g, configDir: dir}
}

func (c *client) env() []string {
	return append(testenv.CleanDockerEnv(),
		"DOCKER_HOST=tcp://"+c.g.addr,
		"DOCKER_TLS_VERIFY=1",
		"DOCKER_CERT_PATH="+c.g.certDir,
		"DOCKER_CONFIG="+c.configDir,
	)
}

func (c *client) cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = c.env()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs the CLI and returns stdout, failing the test on error.
func (c *client) run(args ...string) string {
	c.g.t.Helper()
	out, errOut, err := c.try(args...)
	if err != nil {
		c.g.t.Fatalf("docker %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// try runs the CLI with a timeout and returns stdout, stderr and the error.
func (c *client) try(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.cmd(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// direct runs the CLI straight on the daemon socket (setup and checks).
func (g *gw) direct(args ...string) string {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := g.d.Cmd(ctx, args...).CombinedOutput()
	if err != nil {
		g.t.Fatalf("docker %s (direct): %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// httpClient is a Go client for the gateway over TLS.
func (g *gw) httpClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: g.pool, ServerName: "127.0.0.1"},
		},
	}
}

// tlsDial opens a raw TLS connection to the gateway.
func (g *gw) tlsDial() *tls.Conn {
	g.t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", g.addr, &tls.Config{RootCAs: g.pool, ServerName: "127.0.0.1"})
	if err != nil {
		g.t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	g.t.Cleanup(func() { c.Close() })
	return c
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e9)
}

// removeContainer force-removes a container directly, for cleanup.
func (g *gw) removeContainer(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = g.d.Cmd(ctx, "rm", "-f", name).Run()
}
