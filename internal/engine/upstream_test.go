package engine_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestTCPUpstreamWithClientCertificate runs the gateway in front of a
// daemon that listens on TCP with --tlsverify (port 2376 style): the
// gateway presents the daemon's client certificate, the docker CLI only a
// token. Upgrades (run attached, run -i, BuildKit's /grpc and /session)
// cross both TLS hops.
func TestTCPUpstreamWithClientCertificate(t *testing.T) {
	testenv.Integration(t)
	dir := t.TempDir()
	ca := testenv.NewCA(t, "daemon CA")
	caPath := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caPath, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey := ca.Issue(t, "dockerd", "127.0.0.1").WriteFiles(t, dir, "server")
	cliCert, cliKey := ca.Issue(t, "portcullis").WriteFiles(t, dir, "client")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d := testenv.StartDockerd(t, testenv.DockerdOptions{
		Private: true,
		ExtraArgs: []string{"-H", "tcp://" + addr, "--tlsverify",
			"--tlscacert", caPath, "--tlscert", srvCert, "--tlskey", srvKey},
	})
	d.ImportBusybox(t, busybox)

	g := startGatewayOn(t, d, func(c *config.EngineConfig) {
		c.Upstream = "tcp://" + addr
		c.UpstreamTLS = config.EngineUpstreamTLS{CA: caPath, Cert: cliCert, Key: cliKey}
	})
	c := g.client(g.token("admin", "full", time.Time{}))
	if out := c.run("version", "--format", "{{.Server.Os}}"); strings.TrimSpace(out) != "linux" {
		t.Fatalf("docker version: %q", out)
	}
	if out := c.run("run", "--rm", busybox, "echo", "over-tcp"); strings.TrimSpace(out) != "over-tcp" {
		t.Fatalf("docker run --rm: %q", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := c.cmd(ctx, "run", "--rm", "-i", busybox, "wc", "-c")
	cmd.Stdin = strings.NewReader("1234567")
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "7" {
		t.Fatalf("docker run -i over a TCP upstream: %q %v", out, err)
	}

	// BuildKit's /grpc and /session upgrades across both TLS hops, through
	// the connector (buildx sends no HttpHeaders).
	if buildx := testenv.Buildx(t); buildx != "" {
		conn := g.startConnector(t, g.token("builder", "full", time.Time{}))
		conn.withBuildx(t, buildx)
		ctxDir := t.TempDir()
		df := "FROM " + busybox + "\nRUN echo built-over-tcp > /marker\n"
		if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		r := conn.do(t, "", "buildx", "build", "--network", "none", "--progress", "plain", "-t", "pctcp/built:1", ctxDir)
		if r.code != 0 {
			t.Fatalf("buildx build over a TCP upstream: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if out := c.run("run", "--rm", "--network", "none", "pctcp/built:1", "cat", "/marker"); strings.TrimSpace(out) != "built-over-tcp" {
			t.Fatalf("image built over a TCP upstream: %q", out)
		}
	}

	// Without the client certificate the daemon refuses the gateway, and
	// the client hears that the daemon is unreachable.
	g2 := startGatewayOn(t, d, func(c *config.EngineConfig) {
		c.Upstream = "tcp://" + addr
		c.UpstreamTLS = config.EngineUpstreamTLS{CA: caPath}
	})
	if _, stderr, err := g2.client(g2.token("admin", "full", time.Time{})).try("ps"); err == nil || !strings.Contains(stderr, "unreachable") {
		t.Fatalf("gateway without a client certificate: %v %s", err, stderr)
	}
}
