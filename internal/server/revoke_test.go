package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// A password change in the htpasswd file, picked up by the file watcher,
// revokes that user's sessions (refresh tokens); other users keep theirs.
func TestHtpasswdChangeRevokesSessions(t *testing.T) {
	in := startPortcullis(t, publicACL)
	login := func(user string) string {
		t.Helper()
		resp, tr, body := in.getToken(t, "/token", user, testUsers[user],
			url.Values{"service": {"registry"}, "offline_token": {"true"}, "client_id": {"docker"}})
		if resp.StatusCode != 200 || tr.RefreshToken == "" {
			t.Fatalf("login %s: %d %s", user, resp.StatusCode, body)
		}
		return tr.RefreshToken
	}
	refresh := func(rt string) int {
		t.Helper()
		resp, err := in.client.PostForm(in.base+"/token", url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {rt}, "client_id": {"docker"}, "service": {"registry"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 {
			var tr tokenResponse
			if err := json.Unmarshal(b, &tr); err != nil || tr.AccessToken == "" {
				t.Fatalf("refresh answer %s", b)
			}
		}
		return resp.StatusCode
	}
	aliceRT, bobRT := login("alice"), login("bob")
	if c := refresh(aliceRT); c != 200 {
		t.Fatalf("refresh before the change: %d", c)
	}

	// alice's password changes; bob's and carol's lines stay as they were.
	in.setHtpasswdPassword(t, "alice", "alice-new-secret")

	// The watcher polls every 2s: wait, bounded, for the refusal.
	deadline := time.Now().Add(15 * time.Second)
	code := refresh(aliceRT)
	for i := 0; code == 200 && i < 60 && time.Now().Before(deadline); i++ {
		time.Sleep(250 * time.Millisecond)
		code = refresh(aliceRT)
	}
	if code != 401 {
		t.Fatalf("alice's refresh token after her password changed: %d, want 401", code)
	}
	if c := refresh(bobRT); c != 200 {
		t.Fatalf("bob's entry did not change, his refresh token must still work: %d", c)
	}
}

// setHtpasswdPassword rewrites the server's htpasswd file with a new
// password for user; the other lines stay as they were.
func (in *instance) setHtpasswdPassword(t *testing.T, user, password string) {
	t.Helper()
	path := filepath.Join(in.dataDir, "htpasswd")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	users, err := parseLines(old)
	if err != nil {
		t.Fatal(err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users[user] = string(h)
	var b strings.Builder
	for _, u := range slices.Sorted(maps.Keys(users)) {
		fmt.Fprintf(&b, "%s:%s\n", u, users[u])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func parseLines(b []byte) (map[string]string, error) {
	m := map[string]string{}
	for _, l := range splitLines(string(b)) {
		if l == "" {
			continue
		}
		for i := 0; i < len(l); i++ {
			if l[i] == ':' {
				m[l[:i]] = l[i+1:]
				break
			}
		}
	}
	if len(m) != 3 {
		return nil, fmt.Errorf("htpasswd has %d users", len(m))
	}
	return m, nil
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
