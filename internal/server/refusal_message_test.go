package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn/apptoken"
)

// TestRefusalMessages: a refused login says "wrong user name or password"
// whenever saying more would tell a stranger something about an account;
// once the client has shown the right password or a token that exists, it
// is told what is wrong.
func TestRefusalMessages(t *testing.T) {
	in := startPortcullis(t, publicACL)
	ctx := t.Context()
	in.mustPortcullis(t, "erin-pass\n", "user", "add", "erin", "--password-stdin")
	in.mustPortcullis(t, "frank-pass\n", "user", "add", "frank", "--password-stdin")
	st := in.srv.Store()
	frankTok, err := apptoken.Create(ctx, st, "frank", "ci", nil, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	aliceTok, err := apptoken.Create(ctx, st, "alice", "laptop", nil, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	shortTok, err := apptoken.Create(ctx, st, "alice", "short", nil, time.Now().Add(time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	in.mustPortcullis(t, "", "user", "disable", "erin")
	in.mustPortcullis(t, "", "user", "disable", "frank")
	unknownTok, _, err := apptoken.Generate() // well-formed, never stored
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // shortTok expires

	const generic = "authentication failed: wrong user name or password"
	for _, tc := range []struct{ name, user, pass, want string }{
		{"wrong password", "alice", "nope", generic},
		{"unknown user", "nobody", "nope", generic},
		{"disabled, wrong password", "erin", "nope", generic},
		{"disabled, right password", "erin", "erin-pass", "authentication failed: account disabled"},
		{"no such app token", "alice", unknownTok, "authentication failed: unknown or revoked app token"},
		{"app token of another user", "bob", aliceTok, "authentication failed: the app token is not one of this user's"},
		{"expired app token", "alice", shortTok, "authentication failed: app token expired; create a new one"},
		{"app token of a disabled user", "frank", frankTok, "authentication failed: the app token's owner is disabled or removed"},
	} {
		resp, _, body := in.getToken(t, "/token", tc.user, tc.pass, url.Values{"service": {in.cfg.Token.Service}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d %s, want 401 saying %q", tc.name, resp.StatusCode, body, tc.want)
		}
	}
	// The same tokens' log lines keep the reasons apart.
	for _, reason := range []string{"expired app token", "unknown or revoked app token", "app token of another user", "account disabled"} {
		if !strings.Contains(in.Logs(), reason) {
			t.Errorf("log lacks %q", reason)
		}
	}
}
