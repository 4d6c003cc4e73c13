package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/server"
	"github.com/portcullis/portcullis/internal/testenv"
	"golang.org/x/crypto/bcrypt"
)

// runPlain runs Portcullis over plain HTTP on dir until the returned stop
// is called.
func runPlain(t *testing.T, dir string) (base string, stop func()) {
	t.Helper()
	yaml := fmt.Sprintf(`data_dir: %s
server: {addr: "127.0.0.1:%d", insecure_http: true}
authn:
  bcrypt_cost: 4
  chain:
    - type: apptoken
    - {type: htpasswd, path: %s}
    - type: db
`, dir, testenv.FreePort(t), filepath.Join(dir, "htpasswd"))
	cfg, err := config.Parse([]byte(yaml), "", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		srv.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	if err := testenv.WaitTCP(ctx, srv.Addr(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("server did not stop")
		}
		srv.Close()
	}
	t.Cleanup(stop)
	return "http://" + srv.Addr(), stop
}

func writeHtpasswd(t *testing.T, dir string, users map[string]string) {
	t.Helper()
	var b []byte
	for u, p := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, fmt.Sprintf("%s:%s\n", u, h)...)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A password changed in the htpasswd file while Portcullis was stopped
// revokes that user's sessions at the next start; unchanged users keep
// theirs.
func TestHtpasswdChangeWhileStoppedRevokesSessions(t *testing.T) {
	dir := t.TempDir()
	writeHtpasswd(t, dir, map[string]string{"alice": "alice-secret", "bob": "bob-secret"})
	client := &http.Client{Timeout: 10 * time.Second}
	login := func(base, user, pass string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/token?"+url.Values{"service": {"registry"}, "offline_token": {"true"}, "client_id": {"docker"}}.Encode(), nil)
		req.SetBasicAuth(user, pass)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr tokenResponse
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || decodeInto(b, &tr) != nil || tr.RefreshToken == "" {
			t.Fatalf("login %s: %d %s", user, resp.StatusCode, b)
		}
		return tr.RefreshToken
	}
	refresh := func(base, rt string) int {
		t.Helper()
		resp, err := client.PostForm(base+"/token", url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {rt}, "client_id": {"docker"}, "service": {"registry"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	base, stop := runPlain(t, dir)
	aliceRT, bobRT := login(base, "alice", "alice-secret"), login(base, "bob", "bob-secret")
	stop()

	// alice's password changes while Portcullis is down; bob's line is kept.
	data, err := os.ReadFile(filepath.Join(dir, "htpasswd"))
	if err != nil {
		t.Fatal(err)
	}
	users, err := parseAny(data)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("alice-new"), bcrypt.MinCost)
	users["alice"] = string(h)
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte("alice:"+users["alice"]+"\nbob:"+users["bob"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	base, _ = runPlain(t, dir)
	if c := refresh(base, aliceRT); c != 401 {
		t.Fatalf("alice's refresh token after her password changed while stopped: %d, want 401", c)
	}
	if c := refresh(base, bobRT); c != 200 {
		t.Fatalf("bob's refresh token (entry unchanged): %d, want 200", c)
	}
}

func decodeInto(b []byte, v any) error { return jsonUnmarshal(b, v) }

func parseAny(b []byte) (map[string]string, error) {
	m := map[string]string{}
	for _, l := range splitLines(string(b)) {
		for i := 0; i < len(l); i++ {
			if l[i] == ':' {
				m[l[:i]] = l[i+1:]
				break
			}
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no users")
	}
	return m, nil
}

var jsonUnmarshal = json.Unmarshal
