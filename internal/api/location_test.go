package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/portcullis/portcullis/internal/authn/dbuser"
	"github.com/portcullis/portcullis/internal/store"
)

// The Location of a created token is a URL path a client can use as it
// is, whatever the owner's name holds (users of htpasswd or LDAP may be
// named "John Doe" or "zoë").
func TestCreatedTokenLocationIsUsable(t *testing.T) {
	e := newAPIEnv(t, 5)
	for _, name := range []string{"john doe", "zoë", "dev@example.org"} {
		t.Run(name, func(t *testing.T) {
			h, err := dbuser.HashPassword("pw", testCost)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.st.CreateUser(context.Background(), store.User{Name: name, PasswordHash: h}); err != nil {
				t.Fatal(err)
			}
			r := e.do(t, "POST", "/api/v1/users/"+url.PathEscape(name)+"/apptokens", "root", "", `{"name":"ci"}`).want(t, http.StatusCreated, "")
			loc := r.header.Get("Location")
			u, err := url.Parse(loc)
			if err != nil || u.EscapedPath() != loc {
				t.Fatalf("Location %q is not an escaped URL path (%v)", loc, err)
			}
			e.do(t, "DELETE", loc, "root", "", "").want(t, http.StatusNoContent, "")
		})
	}
}
