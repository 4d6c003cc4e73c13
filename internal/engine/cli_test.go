package engine_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestDockerCLIThroughGateway drives the real docker CLI through the
// gateway (TLS verified against ca.pem only, token from HttpHeaders).
func TestDockerCLIThroughGateway(t *testing.T) {
	g := startGateway(t, nil)
	tok := g.token("admin", "full", time.Time{})
	c := g.client(tok)

	if out := c.run("version", "--format", "{{.Server.APIVersion}}"); strings.TrimSpace(out) == "" {
		t.Fatal("docker version printed no server API version")
	}
	if out := c.run("info", "--format", "{{.Driver}}"); strings.TrimSpace(out) != g.d.Driver {
		t.Fatalf("docker info driver = %q, want %q", out, g.d.Driver)
	}
	if out := c.run("images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, busybox) {
		t.Fatalf("docker images does not list %s:\n%s", busybox, out)
	}
	c.run("ps", "-a")

	// import through the gateway: a request body streamed to the daemon.
	tarball, err := testenv.BusyboxTar(testenv.Require(t, "/bin/busybox", "/usr/bin/busybox"))
	if err != nil {
		t.Fatal(err)
	}
	ref := uniqueName("gwimport") + ":1"
	imp := c.cmd(context.Background(), "import", "-", ref)
	imp.Stdin = bytes.NewReader(tarball)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	defer g.direct("rmi", ref)
	name := uniqueName("gwrun")
	out := c.run("run", "--rm", "--name", name, ref, "sh", "-c", "echo hello from $(id -u)")
	if strings.TrimSpace(out) != "hello from 0" {
		t.Fatalf("docker run output = %q", out)
	}

	vol := uniqueName("gwvol")
	c.run("volume", "create", vol)
	if out := c.run("volume", "ls", "--format", "{{.Name}}"); !strings.Contains(out, vol) {
		t.Fatalf("volume %s not listed:\n%s", vol, out)
	}
	c.run("volume", "rm", vol)

	// A bridge network works although the daemon runs with --bridge=none
	// and without iptables: only the default bridge is disabled.
	net := uniqueName("gwnet")
	c.run("network", "create", "--internal", net)
	if out := c.run("network", "inspect", "--format", "{{.Internal}}", net); strings.TrimSpace(out) != "true" {
		t.Fatalf("network inspect = %q", out)
	}
	c.run("network", "rm", net)

	if !strings.Contains(g.logs.String(), "token=admin") {
		t.Fatal("mutating calls were not audited with the token name")
	}
	if strings.Contains(g.logs.String(), tok) {
		t.Fatal("the token appears in the log")
	}
}
