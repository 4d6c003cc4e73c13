package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestComposeThroughGateway runs a docker compose v2 project through the
// gateway over TLS with the token in HttpHeaders (compose uses the CLI's
// own API client, which sends them): up, ps, logs, exec, run, down; a
// read-only token that may look but not stop anything; and compose build,
// which is buildx inside and so needs the connector.
func TestComposeThroughGateway(t *testing.T) {
	compose := testenv.Compose(t)
	g := startGateway(t, nil)
	c := g.client(g.token(uniqueName("compose"), "full", time.Time{}))
	c.withPlugin(t, "docker-compose", compose)

	dir := t.TempDir()
	// network_mode none: the test daemon has no bridge.
	yml := "services:\n  hello:\n    image: " + busybox + "\n    network_mode: none\n" +
		"    command: [\"sh\", \"-c\", \"echo compose-says-hi; exec sleep 300\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	project := strings.ReplaceAll(uniqueName("pcc"), "_", "")
	dc := func(tb *testing.T, cl *client, args ...string) result {
		tb.Helper()
		return cl.tryIn(t, nil, nil, append([]string{"compose", "-p", project, "-f", filepath.Join(dir, "compose.yaml")}, args...)...)
	}
	must := func(r result, what string) result {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("compose %s: exit %d\nstdout: %s\nstderr: %s", what, r.code, r.stdout, r.stderr)
		}
		return r
	}
	t.Cleanup(func() { dc(t, c, "down", "--timeout", "1") })

	must(dc(t, c, "up", "-d"), "up -d")
	if r := must(dc(t, c, "ps", "--format", "{{.Service}} {{.State}}"), "ps"); !strings.Contains(r.stdout, "hello running") {
		t.Fatalf("compose ps: %q", r.stdout)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := must(dc(t, c, "logs", "hello"), "logs")
		if strings.Contains(r.stdout, "compose-says-hi") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("compose logs never showed the output: %q", r.stdout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := must(dc(t, c, "exec", "-T", "hello", "echo", "exec-through-gateway"), "exec"); strings.TrimSpace(r.stdout) != "exec-through-gateway" {
		t.Fatalf("compose exec: %q", r.stdout)
	}
	if r := must(dc(t, c, "run", "--rm", "-T", "hello", "echo", "run-through-gateway"), "run"); !strings.Contains(r.stdout, "run-through-gateway") {
		t.Fatalf("compose run: %q", r.stdout)
	}

	// A read-only token sees the project but may not stop it.
	ro := g.client(g.token(uniqueName("composero"), "read-only", time.Time{}))
	ro.withPlugin(t, "docker-compose", compose)
	if r := dc(t, ro, "ps", "--format", "{{.Service}} {{.State}}"); r.code != 0 || !strings.Contains(r.stdout, "hello running") {
		t.Fatalf("read-only compose ps: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if r := dc(t, ro, "stop", "--timeout", "1"); r.code == 0 || !strings.Contains(r.stderr, "portcullis") {
		t.Fatalf("read-only compose stop: exit %d: %s", r.code, r.stderr)
	}

	must(dc(t, c, "down", "--timeout", "1"), "down")
	if r := must(dc(t, c, "ps", "-a", "-q"), "ps -a after down"); strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("containers left after compose down: %q", r.stdout)
	}

	// compose build is buildx inside: without the connector the refusal
	// names it, through the connector the image is built.
	buildx := testenv.Buildx(t)
	bdir := t.TempDir()
	df := "FROM " + busybox + "\nRUN echo composed > /m\n"
	byml := "services:\n  b:\n    build: {context: ., network: none}\n    image: pccompose/" + project + ":1\n    network_mode: none\n"
	for name, body := range map[string]string{"Dockerfile": df, "compose.yaml": byml} {
		if err := os.WriteFile(filepath.Join(bdir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := []string{"compose", "-p", project + "b", "-f", filepath.Join(bdir, "compose.yaml"), "build"}
	c.withBuildx(t, buildx)
	if r := c.tryIn(t, nil, nil, build...); r.code == 0 || !strings.Contains(r.stderr, "portcullis engine connect") {
		t.Fatalf("compose build with HttpHeaders only: exit %d: %s", r.code, r.stderr)
	}
	conn := g.startConnector(t, g.token(uniqueName("composeb"), "full", time.Time{}))
	conn.withPlugin(t, "docker-compose", compose)
	conn.withBuildx(t, buildx)
	if r := conn.do(t, "", build...); r.code != 0 {
		t.Fatalf("compose build through the connector: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Cleanup(func() { c.tryIn(t, nil, nil, "rmi", "-f", "pccompose/"+project+":1") })
	if out := c.run("run", "--rm", "--network", "none", "pccompose/"+project+":1", "cat", "/m"); strings.TrimSpace(out) != "composed" {
		t.Fatalf("image from compose build: %q", out)
	}
}
