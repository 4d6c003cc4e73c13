package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// readUntil reads r line by line until a line contains marker or the
// timeout passes.
func readUntil(t *testing.T, r io.Reader, marker string, timeout time.Duration) {
	t.Helper()
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), marker) {
				found <- true
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("stream ended before %q", marker)
		}
	case <-time.After(timeout):
		t.Fatalf("no %q within %s", marker, timeout)
	}
}

// TestHijackedAndStreamedCalls covers the calls the SOAJS proxy could not
// carry: exec (with and without stdin, with a pty), attach, logs -f and
// events.
func TestHijackedAndStreamedCalls(t *testing.T) {
	g := startGateway(t, nil)
	c := g.client(g.token("admin", "full", time.Time{}))
	name := uniqueName("gwexec")
	t.Cleanup(func() { g.removeContainer(name) })
	c.run("run", "-d", "--name", name, busybox, "sh", "-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done")

	t.Run("exec", func(t *testing.T) {
		if out := c.run("exec", name, "echo", "exec-ok"); strings.TrimSpace(out) != "exec-ok" {
			t.Fatalf("exec output %q", out)
		}
	})
	t.Run("exec -i half-close", func(t *testing.T) {
		// stdin reaches EOF, then the output must still arrive.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := c.cmd(ctx, "exec", "-i", name, "cat")
		cmd.Stdin = strings.NewReader("hi\nthere\n")
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != "hi\nthere\n" {
			t.Fatalf("echo hi | docker exec -i cat = %q, %v", out, err)
		}
	})
	t.Run("exec -it under a pty", func(t *testing.T) {
		script := testenv.Require(t, "script")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, script, "-qec", "docker exec -it "+name+" sh -c 'echo pty-ok; tty'", "/dev/null")
		cmd.Env = c.env()
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "pty-ok") || !strings.Contains(string(out), "/dev/pts/") {
			t.Fatalf("docker exec -it: %v\n%q", err, out)
		}
	})
	t.Run("attach", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cmd := c.cmd(ctx, "attach", "--no-stdin", "--sig-proxy=false", name)
		pr, pw := io.Pipe()
		cmd.Stdout = pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		readUntil(t, pr, "tick-", 20*time.Second)
		cancel()
		pw.Close()
		_ = cmd.Wait()
	})
	t.Run("logs -f", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cmd := c.cmd(ctx, "logs", "-f", "--since", "0s", name)
		pr, pw := io.Pipe()
		cmd.Stdout = pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A line written after the stream opened proves it is live.
		time.Sleep(300 * time.Millisecond)
		c.run("exec", name, "sh", "-c", "echo logs-marker > /proc/1/fd/1")
		readUntil(t, pr, "logs-marker", 20*time.Second)
		cancel()
		pw.Close()
		_ = cmd.Wait()
	})
	t.Run("events", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		vol := uniqueName("gwevvol")
		cmd := c.cmd(ctx, "events", "--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}}")
		pr, pw := io.Pipe()
		cmd.Stdout = pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		go func() {
			// Not g.direct: t.Fatal must not run off the test goroutine.
			_ = g.d.Cmd(ctx, "volume", "create", vol).Run()
			_ = g.d.Cmd(ctx, "volume", "rm", vol).Run()
		}()
		readUntil(t, pr, "create "+vol, 20*time.Second)
		cancel()
		pw.Close()
		_ = cmd.Wait()
	})
	if !bytes.Contains([]byte(g.logs.String()), []byte("status=101")) {
		t.Fatal("upgrades were not audited with status 101")
	}
}
