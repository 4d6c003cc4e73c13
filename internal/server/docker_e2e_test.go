package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// dockerConfig is the part of ~/.docker/config.json the test reads.
type dockerConfig struct {
	Auths map[string]struct {
		Auth          string `json:"auth"`
		IdentityToken string `json:"identitytoken"`
	} `json:"auths"`
}

// trustForDocker lets dockerd verify the registry's (and so the token
// realm's) certificate: dockerd reads CAs only from /etc/docker/certs.d.
func trustForDocker(t *testing.T, host string, caPEM []byte) {
	dir := filepath.Join("/etc/docker/certs.d", host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("certs.d: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
}

// TestDockerCLILoginPushPull drives the real docker CLI and daemon:
// docker login stores only an identity (refresh) token, push and pull work
// with it, and revoking the user's sessions makes them fail.
func TestDockerCLILoginPushPull(t *testing.T) {
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
	mustDocker := func(stdin string, args ...string) string {
		t.Helper()
		out, err := docker(stdin, args...)
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	if out, err := docker("wrong\n", "login", reg.Host, "-u", "alice", "--password-stdin"); err == nil {
		t.Fatalf("docker login with a wrong password succeeded:\n%s", out)
	}
	mustDocker(testUsers["alice"]+"\n", "login", reg.Host, "-u", "alice", "--password-stdin")

	raw, err := os.ReadFile(filepath.Join(d.ConfigDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg dockerConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	entry, ok := cfg.Auths[reg.Host]
	if !ok || entry.IdentityToken == "" {
		t.Fatalf("config.json has no identity token for %s:\n%s", reg.Host, raw)
	}
	if strings.Contains(string(raw), testUsers["alice"]) {
		t.Fatalf("the password is stored in config.json:\n%s", raw)
	}
	sessions, err := in.srv.Store().ListRefreshTokens(ctx, "alice")
	if err != nil || len(sessions) != 1 || sessions[0].ClientID != "docker" {
		t.Fatalf("sessions after login: %+v, %v", sessions, err)
	}

	d.ImportBusybox(t, "busybox:e2e")
	img := reg.Host + "/alice/busybox:1"
	mustDocker("", "tag", "busybox:e2e", img)
	mustDocker("", "push", img)
	mustDocker("", "rmi", img)
	mustDocker("", "pull", img)
	out := mustDocker("", "image", "inspect", "--format", "{{.Id}}", img)
	want := mustDocker("", "image", "inspect", "--format", "{{.Id}}", "busybox:e2e")
	if strings.TrimSpace(out) != strings.TrimSpace(want) {
		t.Fatalf("pulled image id %s, pushed %s", out, want)
	}
	mustDocker("", "tag", "busybox:e2e", reg.Host+"/bob/busybox:1")
	if out, err := docker("", "push", reg.Host+"/bob/busybox:1"); err == nil {
		t.Fatalf("alice pushed into bob's namespace:\n%s", out)
	}

	// Revoking the session makes the stored identity token useless.
	n, err := in.srv.Store().DeleteRefreshTokens(ctx, "alice")
	if err != nil || n != 1 {
		t.Fatalf("revoke sessions: n=%d err=%v", n, err)
	}
	mustDocker("", "tag", "busybox:e2e", reg.Host+"/alice/busybox:2")
	if out, err := docker("", "push", reg.Host+"/alice/busybox:2"); err == nil {
		t.Fatalf("push with a revoked identity token succeeded:\n%s", out)
	}
}
