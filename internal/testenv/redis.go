package testenv

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Redis is a running redis-server on 127.0.0.1 with a password, no
// persistence and its own temporary directory.
type Redis struct {
	// Addr is 127.0.0.1:PORT; URL is redis://:PASSWORD@Addr/0.
	Addr     string
	Password string
	URL      string

	t    testing.TB
	bin  string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs *Buffer
}

// StartRedis starts redis-server for t; it stops when t ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin := Require(t, "redis-server", "/usr/bin/redis-server")
	r := &Redis{t: t, bin: bin, dir: t.TempDir(), Password: "test-redis-password", logs: &Buffer{}}
	r.Addr = Addr(FreePort(t))
	r.URL = fmt.Sprintf("redis://:%s@%s/0", r.Password, r.Addr)
	t.Cleanup(r.Stop)
	r.Start()
	return r
}

// Start (re)starts the server on the same port; a no-op when running.
func (r *Redis) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return
	}
	_, port, _ := net.SplitHostPort(r.Addr)
	cmd := exec.Command(r.bin, "--bind", "127.0.0.1", "--port", port, "--dir", r.dir,
		"--save", "", "--appendonly", "no", "--requirepass", r.Password, "--protected-mode", "yes",
		"--daemonize", "no", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := WaitTCP(ctx, r.Addr, 15*time.Second); err != nil {
		r.t.Fatalf("redis-server did not listen on %s: %v\n%s", r.Addr, err, r.logs.String())
	}
}

// Stop stops the server (its data is lost: there is no persistence).
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd, r.done = nil, nil
}

// Logs returns what redis-server printed so far.
func (r *Redis) Logs() string { return r.logs.String() }
