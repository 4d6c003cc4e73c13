package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
)

// openChildEnv tells a re-executed test binary to act as one instance
// starting up on a shared database file.
const openChildEnv = "PORTCULLIS_SQLITE_OPEN_CHILD_DB"

// TestOpenChild is the child of TestMigrationsOnceAcrossProcesses: it
// waits for the go line on stdin, opens (and so migrates) the database,
// writes one user under its own name, and exits.
func TestOpenChild(t *testing.T) {
	path := os.Getenv(openChildEnv)
	if path == "" {
		t.Skip("only run as the child of TestMigrationsOnceAcrossProcesses")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, "no go line:", err)
		os.Exit(2)
	}
	s, err := sqlite.Open(ctx, path, store.Options{})
	if err == nil {
		err = s.CreateUser(ctx, store.User{Name: strings.TrimSpace(name), PasswordHash: []byte("h")})
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(0)
}

// Separate processes (as two Portcullis instances would be) opening one
// new database file at the same moment: all succeed, the schema is
// migrated exactly once, and every instance's write lands.
func TestMigrationsOnceAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	const n = 4
	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   strings.Builder
	}
	children := make([]*child, n)
	for i := range children {
		c := &child{cmd: exec.Command(os.Args[0], "-test.run=^TestOpenChild$", "-test.count=1")}
		c.cmd.Env = append(os.Environ(), openChildEnv+"="+path)
		c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
		var err error
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children[i] = c
	}
	// All children are loaded and waiting; release them together.
	for i, c := range children {
		fmt.Fprintf(c.stdin, "instance%d\n", i)
		c.stdin.Close()
	}
	for i, c := range children {
		done := make(chan error, 1)
		go func() { done <- c.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("instance %d: %v\n%s", i, err, c.out.String())
			}
		case <-time.After(60 * time.Second):
			c.cmd.Process.Kill()
			t.Fatalf("instance %d did not finish within 60s", i)
		}
	}
	db := rawDB(t, path)
	var rows, max int
	if err := db.QueryRow("SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&rows, &max); err != nil {
		t.Fatal(err)
	}
	if rows != sqlite.LatestVersion() || max != sqlite.LatestVersion() {
		t.Errorf("schema_migrations holds %d rows up to %d, want each of 1..%d once", rows, max, sqlite.LatestVersion())
	}
	var users int
	if err := db.QueryRow("SELECT COUNT(*) FROM users").Scan(&users); err != nil {
		t.Fatal(err)
	}
	if users != n {
		t.Errorf("%d users stored, want one per instance (%d)", users, n)
	}
}
