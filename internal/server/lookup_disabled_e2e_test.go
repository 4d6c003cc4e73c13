package server_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn/apptoken"
)

// The first authenticator that knows a name decides for it: a password
// login of a user disabled in the directory is refused there and no later
// authenticator is asked. App tokens and refresh tokens must be decided
// the same way. They went on down the chain when the directory said
// "disabled", so a later authenticator that happens to know the same name
// (here the static user "builder" after the directory) made a disabled
// directory user's tokens work again.
func TestDisabledUserTokensStopAtTheirAuthenticator(t *testing.T) {
	s := startLDAPDirectory(t)
	in := startLDAPPortcullis(t, s, ldapSetup{})
	s.Modify(`dn: uid=builder,ou=people,dc=example,dc=org
changetype: add
objectClass: inetOrgPerson
uid: builder
cn: Builder
sn: Builder
userPassword: directory-builder-pw
`)
	post := func(form url.Values) (int, tokenResponse) {
		t.Helper()
		st, tr, _ := in.postToken(t, form)
		return st, tr
	}
	svc := in.cfg.Token.Service
	st, tr := post(url.Values{"grant_type": {"password"}, "username": {"builder"}, "password": {"directory-builder-pw"},
		"service": {svc}, "client_id": {"docker"}, "access_type": {"offline"}})
	if st != 200 || tr.RefreshToken == "" {
		t.Fatalf("directory user builder: %d, refresh token %q", st, tr.RefreshToken)
	}
	appTok, err := apptoken.Create(t.Context(), in.srv.Store(), "builder", "ci", nil, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantToken(t, in, "builder", appTok, "", 200)

	s.Modify("dn: uid=builder,ou=people,dc=example,dc=org\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n")
	for _, c := range []struct {
		what string
		form url.Values
	}{
		{"password", url.Values{"grant_type": {"password"}, "username": {"builder"}, "password": {"directory-builder-pw"}, "service": {svc}}},
		{"app token", url.Values{"grant_type": {"password"}, "username": {"builder"}, "password": {appTok}, "service": {svc}}},
		{"refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "client_id": {"docker"}, "service": {svc}}},
	} {
		if st, _ := post(c.form); st != 401 {
			t.Errorf("%s of the disabled directory user builder: %d, want 401", c.what, st)
		}
	}
}
