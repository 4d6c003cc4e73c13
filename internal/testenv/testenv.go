// Package testenv starts the real components that Portcullis' tests talk
// to (registries, dockerd, PostgreSQL, slapd, Redis) and makes test certificates.
//
// A test that needs a component calls Require. Under `make test` (which
// sets PORTCULLIS_REQUIRE_COMPONENTS=1) a missing component fails the test
// loudly; under `go test -short` it is skipped.
package testenv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Strict reports whether missing components must fail tests.
func Strict() bool { return os.Getenv("PORTCULLIS_REQUIRE_COMPONENTS") == "1" }

// Require returns the path of the first executable found among names (on
// PATH, or absolute), or fails/skips the test as described in the package
// comment.
func Require(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if filepath.IsAbs(n) {
			if fi, err := os.Stat(n); err == nil && !fi.IsDir() {
				return n
			}
			continue
		}
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if testing.Short() && !Strict() {
		t.Skipf("component %v not installed (skipped under -short)", names)
	}
	t.Fatalf("required component %v not installed: run `make test`, which installs it", names)
	return ""
}

// Integration skips t under -short unless components are required.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() && !Strict() {
		t.Skip("integration test skipped under -short")
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr returns "127.0.0.1:PORT".
func Addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// WaitTCP waits until addr accepts connections or the timeout passes.
func WaitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return lastErr
}

// WaitFile waits until path exists.
func WaitFile(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := os.Stat(path)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
