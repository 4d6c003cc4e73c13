package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
)

// cliEnv is a config file and an SQLite store in a temporary directory.
type cliEnv struct {
	dir, config string
}

func newCLIEnv(t *testing.T, extraYAML string) *cliEnv {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "portcullis.yaml")
	body := fmt.Sprintf("data_dir: %s\nauthn:\n  bcrypt_cost: 4\n  chain:\n    - type: apptoken\n    - type: db\n%s", dir, extraYAML)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cliEnv{dir: dir, config: cfg}
}

// run executes `portcullis --config CFG ARGS` with stdin and returns
// stdout, stderr and the error.
func (e *cliEnv) run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &App{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	defer a.Close()
	root := NewRoot(a)
	root.SetArgs(append([]string{"--config", e.config}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func (e *cliEnv) mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := e.run(t, stdin, args...)
	if err != nil {
		t.Fatalf("portcullis %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// store opens the same SQLite database the CLI uses.
func (e *cliEnv) store(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(e.dir, "portcullis.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// wantErr checks that err is set and mentions every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error mentioning %q, got none", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}
