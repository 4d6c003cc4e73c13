package server_test

import (
	"encoding/json"
	"io"
	"net/url"
	"testing"
)

// Direct-bind users without a service account cannot be looked up later
// (docs/ldap.md), so a refresh token of theirs could never be used: docker
// login would store it as its identity token and every later pull or push
// would fail with 401, login after login. No refresh token is issued to
// them: docker then keeps using the password, which works.
func TestLDAPDirectBindGetsNoUselessRefreshToken(t *testing.T) {
	s := startLDAPDirectory(t)
	in := startLDAPPortcullis(t, s, ldapSetup{directBind: true})
	post := func(form url.Values) (int, tokenResponse, string) {
		t.Helper()
		resp, err := in.client.PostForm(in.base+"/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var tr tokenResponse
		_ = json.Unmarshal(b, &tr)
		return resp.StatusCode, tr, string(b)
	}
	st, tr, body := post(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alice-pw"},
		"service": {in.cfg.Token.Service}, "client_id": {"docker"}, "access_type": {"offline"}})
	if st != 200 {
		t.Fatalf("password grant for a direct-bind user: %d %s", st, body)
	}
	if tr.RefreshToken != "" {
		st, _, body := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken},
			"service": {in.cfg.Token.Service}, "client_id": {"docker"}})
		t.Errorf("a refresh token was issued to a user who cannot be looked up; using it: %d %s", st, body)
	}
}
