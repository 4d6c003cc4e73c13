package cli

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

func TestSessionCommands(t *testing.T) {
	e := newCLIEnv(t, "")
	ctx := context.Background()
	e.mustRun(t, "pw\n", "user", "add", "alice", "--password-stdin")
	st := e.store(t)
	for i, id := range []string{"s1", "s2", "s3"} {
		h := sha256.Sum256([]byte("secret-" + id))
		if err := st.CreateRefreshToken(ctx, store.RefreshToken{ID: id, User: "alice", ClientID: "docker", Hash: h[:], ExpiresAt: time.Now().Add(time.Duration(i+1) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	h := sha256.Sum256([]byte("secret-s1"))
	if err := st.TouchRefreshTokens(ctx, []store.Usage{{Hash: h[:], At: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), Addr: "198.51.100.9"}}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		args     []string
		wantOut  []string
		wantErr  []string
		sessions int // alice's sessions afterwards
	}{
		{"list", []string{"session", "list", "--user", "alice"}, []string{"ID", "CLIENT", "LAST USED", "s1", "s2", "s3", "docker", "2026-03-04T05:06:07Z", "198.51.100.9"}, nil, 3},
		{"list needs --user", []string{"session", "list"}, nil, []string{"user"}, 3},
		{"revoke needs id or --all", []string{"session", "revoke", "--user", "alice"}, nil, []string{"--all"}, 3},
		{"revoke both", []string{"session", "revoke", "--user", "alice", "--all", "s1"}, nil, []string{"not both"}, 3},
		{"revoke unknown", []string{"session", "revoke", "--user", "alice", "nope"}, nil, []string{"no session nope"}, 3},
		{"revoke another user's", []string{"session", "revoke", "--user", "bob", "s1"}, nil, []string{"bob has no session s1"}, 3},
		{"revoke one", []string{"session", "revoke", "--user", "alice", "s2"}, []string{"Revoked session s2"}, nil, 2},
		{"revoke all", []string{"session", "revoke", "--user", "alice", "--all"}, []string{"Revoked 2 session(s)"}, nil, 0},
	}
	for _, c := range cases {
		out, _, err := e.run(t, "", c.args...)
		if c.wantErr != nil {
			wantErr(t, err, c.wantErr...)
		} else if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, w := range c.wantOut {
			if !strings.Contains(out, w) {
				t.Fatalf("%s: output lacks %q:\n%s", c.name, w, out)
			}
		}
		ss, err := st.ListRefreshTokens(ctx, "alice")
		if err != nil || len(ss) != c.sessions {
			t.Fatalf("%s: alice has %d sessions (%v), want %d", c.name, len(ss), err, c.sessions)
		}
	}
}

// Changing the password through the CLI ends the user's sessions.
func TestUserPasswdRevokesSessions(t *testing.T) {
	e := newCLIEnv(t, "")
	ctx := context.Background()
	e.mustRun(t, "pw\n", "user", "add", "alice", "--password-stdin")
	st := e.store(t)
	h := sha256.Sum256([]byte("x"))
	if err := st.CreateRefreshToken(ctx, store.RefreshToken{ID: "s1", User: "alice", ClientID: "docker", Hash: h[:]}); err != nil {
		t.Fatal(err)
	}
	e.mustRun(t, "new-pw\n", "user", "passwd", "alice", "--password-stdin")
	if ss, _ := st.ListRefreshTokens(ctx, "alice"); len(ss) != 0 {
		t.Fatalf("sessions survive a password change: %+v", ss)
	}
}

// A client id is whatever the client sent at login: control characters
// in it (terminal escapes, newlines) are shown escaped, never written raw
// to the terminal of the administrator listing sessions.
func TestSessionListEscapesClientID(t *testing.T) {
	e := newCLIEnv(t, "")
	st := e.store(t)
	h := sha256.Sum256([]byte("secret-evil"))
	evil := "docker\x1b]0;owned\x07\nFAKE\tROW\u009b31m"
	if err := st.CreateRefreshToken(context.Background(), store.RefreshToken{ID: "e1", User: "mallory", ClientID: evil, Hash: h[:]}); err != nil {
		t.Fatal(err)
	}
	out := e.mustRun(t, "", "session", "list", "--user", "mallory")
	if strings.ContainsAny(out, "\x1b\x07\t\u009b") {
		t.Fatalf("control characters reach the terminal: %q", out)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[1], `docker\x1b]0;owned\a\nFAKE\tROW\u009b31m`) {
		t.Fatalf("session list:\n%s", out)
	}
}
