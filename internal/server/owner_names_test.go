package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Users of htpasswd, static lists and LDAP are named as their backend
// names them, which need not fit the rule for database user names (ASCII
// letters, digits, '.', '_', '-'): an e-mail address in an htpasswd file,
// or LDAP's mail as account_attribute. The CLI and the admin API manage
// their app tokens and sessions as well (docs/apptokens.md); names no
// backend would hold (control characters, surrounding spaces) stay refused.
func TestTokensOfUsersNamedOtherwise(t *testing.T) {
	in := startPortcullis(t, publicACL)
	const user = "dev@example.org"
	h, err := bcrypt.GenerateFromPassword([]byte("dev-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	writeHtpasswdLine(t, in, user, string(h))
	in.srv.Reload()

	tok := strings.TrimSpace(in.mustPortcullis(t, "", "apptoken", "create", "--user", user, "--name", "ci"))
	if resp, _, body := in.getToken(t, "/token", user, tok, url.Values{"service": {"registry"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("login with the CLI's token: %d %s", resp.StatusCode, body)
	}

	admin := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/api/v1/users/" + user + "/apptokens", `{"name":"deploy"}`, http.StatusCreated},
		{"GET", "/api/v1/users/" + user + "/apptokens", "", http.StatusOK},
		{"DELETE", "/api/v1/users/" + user + "/apptokens/deploy", "", http.StatusNoContent},
		{"GET", "/api/v1/users/" + user + "/sessions", "", http.StatusOK},
		{"DELETE", "/api/v1/users/" + user + "/sessions", "", http.StatusOK},
		// Unknown to every backend: not found, not invalid.
		{"POST", "/api/v1/users/nobody@example.org/apptokens", `{"name":"x"}`, http.StatusNotFound},
	}
	for _, c := range admin {
		if st, b := in.apiCall(t, c.method, c.path, "carol", testUsers["carol"], c.body); st != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, st, b, c.want)
		}
	}

	for _, bad := range []string{"dev\x01x", " dev", "dev ", "", strings.Repeat("d", 300)} {
		if _, _, err := in.portcullis(t, "", "apptoken", "create", "--user", bad, "--name", "x"); err == nil {
			t.Errorf("apptoken create --user %q accepted", bad)
		}
	}
}
