package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestDockerSessionsRevoked drives the real docker CLI and daemon: the
// identity token docker login stores keeps working for pushes until the
// session is revoked with `portcullis session revoke`, over the API, or
// by a password change.
func TestDockerSessionsRevoked(t *testing.T) {
	testenv.Integration(t)
	in := startPortcullis(t, publicACL)
	reg := in.registry(t, testenv.RegistryV3, false)
	d := testenv.StartDockerd(t, testenv.DockerdOptions{Private: true})
	trustForDocker(t, reg.Host, in.ca.CertPEM)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	docker := func(stdin string, args ...string) (string, error) {
		cmd := d.Cmd(ctx, args...)
		if stdin != "" {
			cmd.Stdin = strings.NewReader(stdin)
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustDocker := func(stdin string, args ...string) {
		t.Helper()
		if out, err := docker(stdin, args...); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	login := func(user, pass string) {
		t.Helper()
		mustDocker(pass+"\n", "login", reg.Host, "-u", user, "--password-stdin")
		raw, err := os.ReadFile(filepath.Join(d.ConfigDir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cfg dockerConfig
		if err := json.Unmarshal(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.Auths[reg.Host].IdentityToken == "" || strings.Contains(string(raw), pass) {
			t.Fatalf("config.json after login as %s holds no identity token, or the password:\n%s", user, raw)
		}
	}
	n := 0
	push := func(repo string) (string, error) {
		n++
		img := reg.Host + "/" + repo + ":" + string(rune('a'+n))
		mustDocker("", "tag", "busybox:e2e", img)
		return docker("", "push", img)
	}
	mustPush := func(repo string) {
		t.Helper()
		if out, err := push(repo); err != nil {
			t.Fatalf("push to %s: %v\n%s", repo, err, out)
		}
	}
	refusedPush := func(repo, why string) {
		t.Helper()
		out, err := push(repo)
		if err == nil {
			t.Fatalf("push to %s after %s succeeded:\n%s", repo, why, out)
		}
		if l := strings.ToLower(out); !strings.Contains(l, "unauthorized") && !strings.Contains(l, "denied") && !strings.Contains(l, "authentication required") {
			t.Fatalf("push to %s after %s failed for another reason:\n%s", repo, why, out)
		}
	}
	d.ImportBusybox(t, "busybox:e2e")

	t.Run("session revoke from the CLI", func(t *testing.T) {
		login("alice", testUsers["alice"])
		mustPush("alice/busybox")
		out := in.mustPortcullis(t, "", "session", "list", "--user", "alice")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.Contains(lines[1], "docker") || !strings.Contains(lines[0], "CLIENT") {
			t.Fatalf("session list:\n%s", out)
		}
		id := strings.Fields(lines[1])[0]
		out = in.mustPortcullis(t, "", "session", "revoke", "--user", "alice", id)
		if !strings.Contains(out, "Revoked session "+id) {
			t.Fatalf("revoke: %s", out)
		}
		refusedPush("alice/busybox", "session revoke")
	})

	t.Run("session revoke over the API", func(t *testing.T) {
		login("alice", testUsers["alice"])
		mustPush("alice/busybox")
		st, body := in.apiCall(t, "GET", "/api/v1/sessions", "alice", testUsers["alice"], "")
		if st != http.StatusOK || !strings.Contains(string(body), `"client_id": "docker"`) {
			t.Fatalf("GET /api/v1/sessions: %d %s", st, body)
		}
		st, body = in.apiCall(t, "DELETE", "/api/v1/sessions", "alice", testUsers["alice"], "")
		if st != http.StatusOK || !strings.Contains(string(body), `"revoked": 1`) {
			t.Fatalf("DELETE /api/v1/sessions: %d %s", st, body)
		}
		refusedPush("alice/busybox", "DELETE /api/v1/sessions")
	})

	t.Run("password change", func(t *testing.T) {
		in.mustPortcullis(t, "dave-old\n", "user", "add", "dave", "--password-stdin")
		login("dave", "dave-old")
		mustPush("dave/busybox")
		out := in.mustPortcullis(t, "dave-new\n", "user", "passwd", "dave", "--password-stdin")
		if !strings.Contains(out, "revoked") {
			t.Fatalf("passwd: %s", out)
		}
		refusedPush("dave/busybox", "a password change")
		if out, err := docker("dave-old\n", "login", reg.Host, "-u", "dave", "--password-stdin"); err == nil {
			t.Fatalf("login with the old password succeeded:\n%s", out)
		}
		login("dave", "dave-new")
		mustPush("dave/busybox")
	})
}
