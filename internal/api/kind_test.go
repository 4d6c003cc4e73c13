package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/internal/api"
	"github.com/portcullis/portcullis/internal/authn"
)

// grantAs grants every credential with a fixed kind: it stands for a
// backend that proves identities by something other than a password.
type grantAs struct{ kind authn.Kind }

var _ authn.Authenticator = grantAs{}

func (g grantAs) Name() string { return "grant-as" }
func (g grantAs) Authenticate(_ context.Context, c authn.Credentials) (authn.Result, error) {
	return authn.Result{Decision: authn.Grant, Identity: &authn.Identity{Account: c.Username, Admin: true, Kind: g.kind}}, nil
}

// Only identities proven by a password are let in, whatever the secret
// looks like: the check on the prefix is not the only line.
func TestOnlyPasswordIdentities(t *testing.T) {
	for _, tc := range []struct {
		kind   authn.Kind
		status int
	}{
		{authn.KindPassword, http.StatusOK},
		{authn.KindAppToken, http.StatusForbidden},
		{authn.KindRefreshToken, http.StatusForbidden},
		{authn.KindAnonymous, http.StatusForbidden},
	} {
		chain, err := authn.NewChain([]authn.Link{{Authenticator: grantAs{tc.kind}}}, nil, testCost, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := api.New(api.Deps{Authn: chain})
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.SetBasicAuth("someone", "not-an-app-token")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Fatalf("kind %s: status %d, want %d: %s", tc.kind, rec.Code, tc.status, rec.Body)
		}
	}
}
