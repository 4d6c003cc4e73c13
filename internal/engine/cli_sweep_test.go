package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
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

// tryIn runs the CLI through the gateway with stdin.
func (c *client) tryIn(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return runResult(t, ctx, c.cmd(ctx, args...), stdin)
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
