package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis/portcullis/internal/store"
)

// slowCost makes a password check take long enough (a second or more)
// for a password change to land while a login is between reading the
// user's hash and answering.
const slowCost = 14

// refreshStatus uses a refresh token and returns the status.
func (in *instance) refreshStatus(t *testing.T, rt string) int {
	t.Helper()
	resp, err := in.client.PostForm(in.base+"/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {rt}, "client_id": {"docker"}, "service": {"registry"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// loginResult is a login's status and answer.
type loginResult struct {
	status int
	tokenResponse
}

// offlineLogin runs a docker-style login (offline token) in the
// background and delivers its answer.
func (in *instance) offlineLogin(t *testing.T, user, pass string) <-chan loginResult {
	t.Helper()
	done := make(chan loginResult, 1)
	go func() {
		req, _ := http.NewRequest("GET", in.base+"/token?"+url.Values{"service": {"registry"},
			"offline_token": {"true"}, "client_id": {"docker"}}.Encode(), nil)
		req.SetBasicAuth(user, pass)
		c := &http.Client{Timeout: 60 * time.Second, Transport: in.client.Transport}
		resp, err := c.Do(req)
		if err != nil {
			done <- loginResult{}
			return
		}
		defer resp.Body.Close()
		r := loginResult{status: resp.StatusCode}
		if resp.StatusCode == http.StatusOK {
			_ = json.NewDecoder(resp.Body).Decode(&r.tokenResponse)
		}
		done <- r
	}()
	return done
}

// A login that checked the old password while the password was being
// changed must not come out of it with a session: the change revokes the
// user's sessions, and one stored a moment later with the old password
// would outlive it (until it expires, 90 days by default). Likewise the
// old password must not stay in the verification cache. Both for a
// database user (PATCH over the API) and an htpasswd user (file reload).
func TestPasswordChangeDuringLogin(t *testing.T) {
	cases := []struct {
		name   string
		user   string
		change func(t *testing.T, in *instance)
	}{
		{"db user, API", "dave", func(t *testing.T, in *instance) {
			st, b := in.apiCall(t, "PATCH", "/api/v1/users/dave", "carol", testUsers["carol"], `{"password":"dave-new-secret"}`)
			if st != http.StatusOK {
				t.Errorf("password change: %d %s", st, b)
			}
		}},
		{"htpasswd user, reload", "alice", func(t *testing.T, in *instance) {
			h, err := bcrypt.GenerateFromPassword([]byte("alice-new-secret"), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			writeHtpasswdLine(t, in, "alice", string(h))
			in.srv.Reload()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := startPortcullis(t, publicACL)
			const oldPW = "old-secret"
			slow, err := bcrypt.GenerateFromPassword([]byte(oldPW), slowCost)
			if err != nil {
				t.Fatal(err)
			}
			if tc.user == "dave" {
				if err := in.srv.Store().CreateUser(t.Context(), store.User{Name: "dave", PasswordHash: slow}); err != nil {
					t.Fatal(err)
				}
			} else {
				writeHtpasswdLine(t, in, tc.user, string(slow))
				in.srv.Reload()
			}

			// A connection ready in the pool, so that the login below
			// reaches the password check at once.
			if resp, err := in.client.Get(in.base + "/healthz"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			login := in.offlineLogin(t, tc.user, oldPW)
			time.Sleep(500 * time.Millisecond) // the login is comparing the old hash now
			tc.change(t, in)
			tr := <-login
			if tr.status != http.StatusOK {
				// The old password was right when the login read it: a
				// refusal means the login did not overlap the change.
				t.Fatalf("the login overlapping the change: %d, want 200 (did it start after the change?)", tr.status)
			}
			if tr.RefreshToken != "" {
				if c := in.refreshStatus(t, tr.RefreshToken); c != http.StatusUnauthorized {
					t.Errorf("a session opened with the old password during the change works after it: %d, want 401", c)
				}
			}
			resp, _, _ := in.getToken(t, "/token", tc.user, oldPW, url.Values{"service": {"registry"}})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("old password after the change: %d, want 401", resp.StatusCode)
			}
		})
	}
}

// writeHtpasswdLine sets user's line of in's htpasswd file to hash,
// keeping the other users.
func writeHtpasswdLine(t *testing.T, in *instance, user, hash string) {
	t.Helper()
	path := filepath.Join(in.dataDir, "htpasswd")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	found := false
	for _, l := range splitLines(string(old)) {
		if l == "" {
			continue
		}
		if len(l) > len(user) && l[:len(user)+1] == user+":" {
			l, found = user+":"+hash, true
		}
		out = append(out, l+"\n"...)
	}
	if !found {
		out = append(out, user+":"+hash+"\n"...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
