package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/engine"
)

// result is what one CLI run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// runResult runs cmd with stdin (nil: /dev/null) and collects its result;
// a run that does not end before ctx does is a test failure.
func runResult(t *testing.T, ctx context.Context, cmd *exec.Cmd, stdin io.Reader) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("docker %s did not end in time\nstdout: %s\nstderr: %s", strings.Join(cmd.Args[1:], " "), stdout.String(), stderr.String())
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("docker %s: %v", strings.Join(cmd.Args[1:], " "), err)
	}
	return r
}

// tryIn runs the CLI through the gateway with stdin and extra
// environment (KEY=value entries, nil for none).
func (c *client) tryIn(t *testing.T, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := c.cmd(ctx, args...)
	cmd.Env = append(cmd.Env, env...)
	return runResult(t, ctx, cmd, stdin)
}

// directIn runs the CLI on the daemon socket with stdin and extra
// environment.
func (g *gw) directIn(t *testing.T, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := g.d.Cmd(ctx, args...)
	cmd.Env = append(cmd.Env, env...)
	cmd.WaitDelay = 5 * time.Second
	return runResult(t, ctx, cmd, stdin)
}

// same runs a command that does not change what the other run sees (a
// read, or a call that fails) through the gateway and on the socket, and
// fails the test unless output, errors and exit code are identical.
func (c *client) same(t *testing.T, args ...string) result {
	t.Helper()
	gw := c.tryIn(t, nil, nil, args...)
	d := c.g.directIn(t, nil, nil, args...)
	if gw != d {
		t.Fatalf("docker %s differs\ngateway: exit %d\nstdout: %s\nstderr: %s\ndirect: exit %d\nstdout: %s\nstderr: %s",
			strings.Join(args, " "), gw.code, gw.stdout, gw.stderr, d.code, d.stdout, d.stderr)
	}
	return gw
}

// ok runs a command through the gateway and returns its stdout, failing
// the test unless it succeeds.
func (c *client) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := c.tryIn(t, nil, nil, args...)
	if r.code != 0 {
		t.Fatalf("docker %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails checks that r is a failure whose stderr carries want.
func fails(t *testing.T, r result, want string) {
	t.Helper()
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d, want a failure printing %q\nstdout: %s\nstderr: %s", r.code, want, r.stdout, r.stderr)
	}
}

// waitFor polls the container's logs until they contain marker.
func (c *client) waitFor(t *testing.T, name, marker string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(c.ok(t, "logs", name), marker) {
		if time.Now().After(deadline) {
			t.Fatalf("container %s never logged %q", name, marker)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tarNames lists the entries of a tar stream, sorted.
func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	slices.Sort(names)
	return names
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestRegistryCallsWithBadTokenDoNotPrompt checks that a missing, wrong or
// expired token on the calls where the Engine API's 401 means "registry
// credentials needed" (pull, push, search, plugin install) makes the CLI
// print the gateway's message and fail, instead of prompting for a Docker
// Hub login (and, without a terminal, waiting forever).
func TestRegistryCallsWithBadTokenDoNotPrompt(t *testing.T) {
	g := startGateway(t, nil)
	wrong, _ := engine.NewToken()
	tokens := map[string]struct{ tok, want string }{
		"missing": {"", "missing token"},
		"wrong":   {wrong, "invalid token"},
		"expired": {g.token("old", "full", time.Now().Add(-time.Minute)), `token "old" expired`},
	}
	// Every reference names an unreachable loopback registry, although the
	// gateway refuses these calls before the daemon sees them.
	const ref = "127.0.0.1:1/pc-none:1"
	calls := [][]string{
		{"pull", ref},
		{"push", ref},
		{"search", "127.0.0.1:1/pc-none"},
		{"plugin", "install", "--grant-all-permissions", ref},
	}
	for name, tt := range tokens {
		c := g.client(tt.tok)
		for _, args := range calls {
			t.Run(name+"/"+args[0]+" "+args[1], func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				r := runResult(t, ctx, c.cmd(ctx, args...), nil)
				if r.code == 0 || !strings.Contains(r.stderr, "portcullis: "+tt.want) || strings.Contains(r.stdout+r.stderr, "Username") {
					t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
				}
			})
		}
	}
}

// TestCLISweep runs docker CLI commands through the gateway and compares
// them with the same commands on the daemon's socket: output, errors and
// exit codes.
func TestCLISweep(t *testing.T) {
	g := startGateway(t, nil)
	c := g.client(g.token("admin", "full", time.Time{}))
	label := uniqueName("pcsweep")
	var names, images []string
	t.Cleanup(func() {
		for _, n := range names {
			g.removeContainer(n)
		}
		for _, ref := range images {
			_ = g.d.Cmd(context.Background(), "rmi", "-f", ref).Run()
		}
	})
	container := func(prefix string) string {
		n := uniqueName(prefix)
		names = append(names, n)
		return n
	}
	image := func(prefix string) string {
		ref := uniqueName(prefix) + ":1"
		images = append(images, ref)
		return ref
	}

	t.Run("wait", func(t *testing.T) {
		n := container("sweepwait")
		c.ok(t, "run", "-d", "--name", n, busybox, "sh", "-c", "sleep 0.5; exit 3")
		if out := c.ok(t, "wait", n); out != "3\n" {
			t.Fatalf("docker wait = %q, want 3", out)
		}
		fails(t, c.same(t, "wait", "pc-no-such-container"), "No such container")
	})

	t.Run("kill", func(t *testing.T) {
		n := container("sweepkill")
		c.ok(t, "run", "-d", "--name", n, busybox, "sh", "-c", `trap "echo got-usr1" USR1; echo ready; while true; do sleep 0.1; done`)
		c.waitFor(t, n, "ready")
		c.ok(t, "kill", "-s", "USR1", n)
		c.waitFor(t, n, "got-usr1")
		c.ok(t, "kill", n)
		if out := c.ok(t, "wait", n); out != "137\n" {
			t.Fatalf("exit code after docker kill = %q, want 137", out)
		}
		fails(t, c.same(t, "kill", n), "is not running")
		fails(t, c.same(t, "kill", "-s", "NOPE", n), "Invalid signal")
	})

	t.Run("rename and update", func(t *testing.T) {
		n, n2, other := container("sweepren"), container("sweepren2"), container("sweepother")
		c.ok(t, "run", "-d", "--name", n, busybox, "sleep", "300")
		c.ok(t, "create", "--name", other, busybox, "true")
		c.ok(t, "rename", n, n2)
		if out := c.ok(t, "inspect", "--format", "{{.Name}}", n2); out != "/"+n2+"\n" {
			t.Fatalf("renamed container's name = %q", out)
		}
		fails(t, c.same(t, "rename", n, "pc-sweep-x"), "No such container")
		fails(t, c.same(t, "rename", n2, other), "is already in use")

		c.ok(t, "update", "--memory", "64m", "--memory-swap", "128m", n2)
		if out := c.ok(t, "inspect", "--format", "{{.HostConfig.Memory}}", n2); out != "67108864\n" {
			t.Fatalf("memory after docker update = %q", out)
		}
		fails(t, c.same(t, "update", "--memory", "1k", n2), "Minimum memory limit")
		fails(t, c.same(t, "update", "--memory", "64m", "pc-no-such-container"), "No such container")
	})

	t.Run("cp pause restart stats diff", func(t *testing.T) {
		n := container("sweepcp")
		c.ok(t, "run", "-d", "--name", n, busybox, "sh", "-c", "mkdir -p /work; echo inside > /work/in.txt; echo ready; exec sleep 300")
		c.waitFor(t, n, "ready")
		// Into the container (PUT archive, a tar body) and back out (GET
		// archive), a file and a directory.
		dir := t.TempDir()
		payload := make([]byte, 3<<20)
		if _, err := rand.Read(payload); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "payload.bin"), payload, 0o644); err != nil {
			t.Fatal(err)
		}
		c.ok(t, "cp", filepath.Join(dir, "payload.bin"), n+":/work/payload.bin")
		if out := c.ok(t, "exec", n, "sha256sum", "/work/payload.bin"); !strings.HasPrefix(out, sha256Hex(payload)) {
			t.Fatalf("sha256 in the container after docker cp in: %q", out)
		}
		back := filepath.Join(dir, "back")
		c.ok(t, "cp", n+":/work", back)
		for name, want := range map[string][]byte{"payload.bin": payload, "in.txt": []byte("inside\n")} {
			got, err := os.ReadFile(filepath.Join(back, name))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("docker cp out: %s: %v (%d bytes, want %d)", name, err, len(got), len(want))
			}
		}
		fails(t, c.same(t, "cp", n+":/no/such/file", dir), "Could not find the file")
		if out := c.ok(t, "diff", n); !strings.Contains(out, "A /work") {
			t.Fatalf("docker diff: %q", out)
		}
		if out := c.ok(t, "top", n); !strings.Contains(out, "sleep 300") {
			t.Fatalf("docker top: %q", out)
		}
		c.ok(t, "pause", n)
		if out := c.ok(t, "inspect", "--format", "{{.State.Status}}", n); out != "paused\n" {
			t.Fatalf("state after docker pause: %q", out)
		}
		c.ok(t, "unpause", n)
		if out := c.ok(t, "stats", "--no-stream", "--format", "{{.Name}}", n); out != n+"\n" {
			t.Fatalf("docker stats --no-stream: %q", out)
		}
		before := c.ok(t, "inspect", "--format", "{{.State.StartedAt}}", n)
		c.ok(t, "restart", "-t", "1", n)
		if after := c.ok(t, "inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", n); !strings.HasPrefix(after, "true ") || strings.TrimPrefix(after, "true ") == before {
			t.Fatalf("after docker restart: %q (started before: %q)", after, before)
		}
		if out := c.ok(t, "system", "df"); !strings.Contains(out, "Containers") {
			t.Fatalf("docker system df: %q", out)
		}
	})

	t.Run("commit tag rmi", func(t *testing.T) {
		n, user := container("sweepcommit"), container("sweepuser")
		ref, ref2 := image("sweepcommit"), image("sweeptag")
		c.ok(t, "run", "--name", n, busybox, "sh", "-c", "echo committed > /marker")
		if out := c.ok(t, "commit", "-c", "ENV PC_SWEEP=yes", n, ref); !strings.HasPrefix(out, "sha256:") {
			t.Fatalf("docker commit = %q", out)
		}
		if out := c.ok(t, "run", "--name", user, ref, "sh", "-c", "cat /marker; echo $PC_SWEEP"); out != "committed\nyes\n" {
			t.Fatalf("committed image runs %q", out)
		}
		fails(t, c.same(t, "commit", "-c", "BOGUS x", n, ref2), "not a valid change command")
		c.ok(t, "tag", ref, ref2)
		if out := c.ok(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, ref2) {
			t.Fatalf("tag %s not listed:\n%s", ref2, out)
		}
		if out := c.ok(t, "rmi", ref2); out != "Untagged: "+ref2+"\n" {
			t.Fatalf("docker rmi %s = %q", ref2, out)
		}
		fails(t, c.same(t, "rmi", ref2), "No such image")
		fails(t, c.same(t, "tag", "pc-no-such:1", ref2), "No such image")
		fails(t, c.same(t, "rmi", ref), "container "+c.ok(t, "inspect", "--format", "{{printf \"%.12s\" .Id}}", user)[:12]+" is using")
	})

	t.Run("prune", func(t *testing.T) {
		n, vol, net := container("sweepprune"), uniqueName("sweepvol"), uniqueName("sweepnet")
		id := strings.TrimSpace(c.ok(t, "create", "--label", label, "--name", n, busybox, "true"))
		img := strings.TrimSpace(c.ok(t, "commit", "-c", "LABEL "+label+"=1", n))
		c.ok(t, "volume", "create", "--label", label, vol)
		c.ok(t, "network", "create", "--label", label, net)
		filter := "label=" + label
		for _, p := range []struct{ what, want string }{
			{"container", id}, {"image", "deleted: " + img}, {"volume", vol}, {"network", net},
		} {
			if out := c.ok(t, p.what, "prune", "-f", "--filter", filter); !strings.Contains(out, p.want) {
				t.Fatalf("docker %s prune did not remove %s:\n%s", p.what, p.want, out)
			}
			// Nothing left: the gateway's answer is the daemon's.
			c.same(t, p.what, "prune", "-f", "--filter", filter)
		}
	})

	t.Run("logs -f ends with the container", func(t *testing.T) {
		n := container("sweeplogs")
		c.ok(t, "run", "-d", "--name", n, busybox, "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done; echo gone >&2; exit 2")
		// runResult fails the test if the follow does not end by itself.
		r := c.tryIn(t, nil, nil, "logs", "-f", n)
		if r.code != 0 || r.stdout != "line1\nline2\nline3\n" || r.stderr != "gone\n" {
			t.Fatalf("docker logs -f: exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
		}
		c.same(t, "logs", "-f", "--timestamps", n)
	})

	t.Run("run -i with a large stdin", func(t *testing.T) {
		data := make([]byte, 50<<20)
		_, _ = rand.Read(data)
		r := c.tryIn(t, nil, bytes.NewReader(data), "run", "--rm", "-i", busybox, "sha256sum")
		if r.code != 0 || r.stdout != sha256Hex(data)+"  -\n" {
			t.Fatalf("sha256sum of 50 MB through docker run -i: exit %d %q %s", r.code, r.stdout, r.stderr)
		}
		// A container that stops reading early and exits: no hang, its code.
		r = c.tryIn(t, nil, bytes.NewReader(data), "run", "--rm", "-i", busybox, "sh", "-c", "head -c 10 | wc -c; exit 9")
		if r.code != 9 || strings.TrimSpace(r.stdout) != "10" {
			t.Fatalf("early exit with stdin pending: exit %d %q %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("classic build", func(t *testing.T) {
		dir := t.TempDir()
		write := func(name, body string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("hello.txt", "hello-build\n")
		write("Dockerfile", "FROM "+busybox+"\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n")
		legacy := []string{"DOCKER_BUILDKIT=0"}
		ref := image("sweepbuild")
		if r := c.tryIn(t, legacy, nil, "build", "-q", "-t", ref, dir); r.code != 0 || !strings.HasPrefix(r.stdout, "sha256:") {
			t.Fatalf("docker build: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		if out := c.ok(t, "run", "--rm", ref); out != "hello-build\n" {
			t.Fatalf("built image runs %q", out)
		}
		write("Dockerfile", "FROM "+busybox+"\nRUN echo failing; exit 3\n")
		gw := c.tryIn(t, legacy, nil, "build", "-q", dir)
		d := g.directIn(t, legacy, nil, "build", "-q", dir)
		const want = "returned a non-zero code: 3"
		if gw.code != d.code || !strings.Contains(gw.stderr, want) || !strings.Contains(d.stderr, want) {
			t.Fatalf("failing build: gateway exit %d %s\ndirect exit %d %s", gw.code, gw.stderr, d.code, d.stderr)
		}
	})

	t.Run("export save load", func(t *testing.T) {
		n := container("sweepexport")
		c.ok(t, "create", "--name", n, busybox, "true")
		if gwSum, dSum := sha256Hex([]byte(c.ok(t, "export", n))), sha256Hex([]byte(g.direct("export", n))); gwSum != dSum {
			t.Fatalf("docker export differs: gateway %s, direct %s", gwSum, dSum)
		}
		fails(t, c.same(t, "export", "pc-no-such-container"), "No such container")

		ref := image("sweepsave")
		c.ok(t, "tag", busybox, ref)
		saved := c.ok(t, "save", ref)
		if gwNames, dNames := tarNames(t, []byte(saved)), tarNames(t, []byte(g.direct("save", ref))); !slices.Equal(gwNames, dNames) {
			t.Fatalf("docker save entries differ:\ngateway %v\ndirect %v", gwNames, dNames)
		}
		c.ok(t, "rmi", ref)
		fails(t, c.same(t, "save", ref), "reference does not exist")
		if r := c.tryIn(t, nil, strings.NewReader(saved), "load"); r.code != 0 || r.stdout != "Loaded image: "+ref+"\n" {
			t.Fatalf("docker load: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		// docker save | docker load, both through the gateway.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		save, load := c.cmd(ctx, "save", ref), c.cmd(ctx, "load")
		pipe, err := save.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := save.Start(); err != nil {
			t.Fatal(err)
		}
		r := runResult(t, ctx, load, pipe)
		if err := save.Wait(); err != nil || r.code != 0 || r.stdout != "Loaded image: "+ref+"\n" {
			t.Fatalf("docker save | docker load: save %v, load exit %d\nstdout: %s\nstderr: %s", err, r.code, r.stdout, r.stderr)
		}
		fails(t, c.tryIn(t, nil, strings.NewReader("not a tarball\n"), "load"), "Error processing tar file")
	})

	t.Run("events since until", func(t *testing.T) {
		vol := uniqueName("sweepev")
		since := time.Now().Add(-time.Second)
		c.ok(t, "volume", "create", vol)
		c.ok(t, "volume", "rm", vol)
		until := time.Now().Add(time.Second)
		stamp := func(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }
		r := c.same(t, "events", "--since", stamp(since), "--until", stamp(until), "--filter", "volume="+vol, "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}")
		if want := "volume create " + vol + "\nvolume destroy " + vol + "\n"; r.code != 0 || r.stdout != want {
			t.Fatalf("docker events = exit %d %q, want %q", r.code, r.stdout, want)
		}
		fails(t, c.same(t, "events", "--since", "garbage", "--until", "1s"), "failed to parse")
	})

	t.Run("run --init --read-only and volumes", func(t *testing.T) {
		r := c.same(t, "run", "--rm", "--init", busybox, "sh", "-c", "ps -o pid,comm | sed -n 2p; exit 4")
		if r.code != 4 || !strings.Contains(r.stdout, "docker-init") {
			t.Fatalf("docker run --init: exit %d %q %s", r.code, r.stdout, r.stderr)
		}
		r = c.same(t, "run", "--rm", "--read-only", busybox, "sh", "-c", "touch /x; echo touch=$?")
		if r.code != 0 || r.stdout != "touch=1\n" || !strings.Contains(r.stderr, "Read-only file system") {
			t.Fatalf("docker run --read-only: exit %d %q %s", r.code, r.stdout, r.stderr)
		}
		c.same(t, "run", "--rm", "--read-only", "--tmpfs", "/tmp", busybox, "touch", "/tmp/x")

		vol := uniqueName("sweepvol")
		t.Cleanup(func() { _ = g.d.Cmd(context.Background(), "volume", "rm", "-f", vol).Run() })
		c.ok(t, "volume", "create", vol)
		c.ok(t, "run", "--rm", "-v", vol+":/data", busybox, "sh", "-c", "echo persisted > /data/f")
		r = c.same(t, "run", "--rm", "--mount", "type=volume,src="+vol+",dst=/data,readonly", busybox, "sh", "-c", "cat /data/f; echo more > /data/f")
		if r.code != 1 || r.stdout != "persisted\n" || !strings.Contains(r.stderr, "Read-only file system") {
			t.Fatalf("read-only volume mount: exit %d %q %s", r.code, r.stdout, r.stderr)
		}
		n := container("sweepvoluser")
		c.ok(t, "create", "--name", n, "-v", vol+":/data", busybox, "true")
		fails(t, c.same(t, "volume", "rm", vol), "volume is in use")
		c.ok(t, "rm", n)
		if out := c.ok(t, "volume", "rm", vol); out != vol+"\n" {
			t.Fatalf("docker volume rm = %q", out)
		}
	})

	t.Run("read-only token", func(t *testing.T) {
		ro := g.client(g.token("sweepreader", "read-only", time.Time{}))
		n, vol, net := container("sweepro"), uniqueName("sweeprovol"), uniqueName("sweepronet")
		c.ok(t, "run", "-d", "--name", n, busybox, "sleep", "300")
		c.ok(t, "volume", "create", vol)
		c.ok(t, "network", "create", net)
		t.Cleanup(func() {
			_ = g.d.Cmd(context.Background(), "volume", "rm", "-f", vol).Run()
			_ = g.d.Cmd(context.Background(), "network", "rm", net).Run()
		})
		for _, args := range [][]string{
			{"ps", "-a"}, {"images"}, {"inspect", n}, {"logs", n}, {"top", n}, {"volume", "ls"},
			{"network", "ls"}, {"history", busybox}, {"events", "--since", "5s", "--until", "0s"},
		} {
			ro.ok(t, args...)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+busybox+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		const refused = `portcullis: token "sweepreader" may not`
		stable := strings.NewReplacer(n, "CONTAINER", vol, "VOLUME", net, "NETWORK")
		for _, args := range [][]string{
			{"wait", n}, {"kill", n}, {"kill", "-s", "USR1", n}, {"rename", n, n + "x"},
			{"update", "--memory", "64m", n}, {"commit", n}, {"tag", busybox, "pc-sweep-ro:1"},
			{"rmi", busybox}, {"rm", "-f", n}, {"exec", n, "true"}, {"run", "--rm", busybox, "true"},
			{"container", "prune", "-f"}, {"image", "prune", "-f"}, {"volume", "prune", "-f"}, {"network", "prune", "-f"},
			{"volume", "rm", vol}, {"network", "rm", net}, {"export", n}, {"save", busybox}, {"load"},
		} {
			t.Run(stable.Replace(strings.Join(args, " ")), func(t *testing.T) {
				fails(t, ro.tryIn(t, nil, strings.NewReader("x"), args...), refused)
			})
		}
		fails(t, ro.tryIn(t, []string{"DOCKER_BUILDKIT=0"}, nil, "build", dir), refused)
		fails(t, ro.tryIn(t, nil, strings.NewReader("data"), "run", "--rm", "-i", busybox, "wc", "-c"), refused)
		// attach is hijacked: the CLI prints only the status of a refused
		// upgrade, not the message.
		fails(t, ro.tryIn(t, nil, nil, "attach", "--no-stdin", n), "403")
		if out := c.ok(t, "inspect", "--format", "{{.State.Running}} {{.Name}}", n); out != "true /"+n+"\n" {
			t.Fatalf("the container was touched: %q", out)
		}
	})
}
