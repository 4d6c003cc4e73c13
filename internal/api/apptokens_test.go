package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/api"
	"github.com/portcullis/portcullis/internal/authn/apptoken"
)

func TestSelfServiceAppTokens(t *testing.T) {
	e := newAPIEnv(t, 5)
	ctx := context.Background()

	c := e.createToken(t, "alice", `{"name":"laptop","expires":"90d","scopes":["repository:alice/*:pull"]}`)
	if !apptoken.LooksLike(c.Token) || c.User != "alice" || c.Name != "laptop" || !slices.Equal(c.Scopes, []string{"repository:alice/*:pull"}) {
		t.Fatalf("created %+v", c)
	}
	if c.ExpiresAt == nil || c.ExpiresAt.Sub(time.Now().Add(90*24*time.Hour)).Abs() > time.Minute {
		t.Fatalf("expires_at %v, want in 90 days", c.ExpiresAt)
	}
	stored, err := e.st.GetAppTokenByHash(ctx, apptoken.Hash(c.Token))
	if err != nil || stored.User != "alice" {
		t.Fatalf("token not stored under its hash: %v", err)
	}
	never := e.createToken(t, "alice", `{"name":"ci","expires":"never"}`)
	if never.ExpiresAt != nil || len(never.Scopes) != 0 {
		t.Fatalf("never-expiring token: %+v", never)
	}

	var list []api.AppToken
	r := e.do(t, "GET", "/api/v1/apptokens", "alice", "", "").want(t, http.StatusOK, "")
	r.decode(t, &list)
	if len(list) != 2 || strings.Contains(string(r.body), "pcat_") || strings.Contains(string(r.body), `"token"`) {
		t.Fatalf("list: %s", r.body)
	}
	// bob sees none of alice's tokens and cannot revoke them.
	e.do(t, "GET", "/api/v1/apptokens", "bob", "", "").want(t, http.StatusOK, "").decode(t, &list)
	if len(list) != 0 {
		t.Fatalf("bob sees %v", list)
	}
	e.do(t, "DELETE", "/api/v1/apptokens/laptop", "bob", "", "").want(t, http.StatusNotFound, "not_found")

	cases := []struct {
		name, body, code string
		status           int
	}{
		{"duplicate", `{"name":"laptop"}`, "already_exists", http.StatusConflict},
		{"bad name", `{"name":"a/b"}`, "invalid_request", http.StatusBadRequest},
		{"no name", `{}`, "invalid_request", http.StatusBadRequest},
		{"bad expiry", `{"name":"x","expires":"90 days"}`, "invalid_request", http.StatusBadRequest},
		{"negative expiry", `{"name":"x","expires":"-1h"}`, "invalid_request", http.StatusBadRequest},
		{"bad scope", `{"name":"x","scopes":["registry:catalog:*"]}`, "invalid_request", http.StatusBadRequest},
		// No mass assignment: the owner comes from the credentials only.
		{"owner field", `{"name":"x","user":"bob"}`, "invalid_request", http.StatusBadRequest},
		{"two objects", `{"name":"x"}{"name":"y"}`, "invalid_request", http.StatusBadRequest},
		{"not json", `name=x`, "invalid_request", http.StatusBadRequest},
		{"wrong type", `{"name":5}`, "invalid_request", http.StatusBadRequest},
		{"too large", `{"name":"x","scopes":["` + strings.Repeat("a", 70<<10) + `"]}`, "request_too_large", http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.do(t, "POST", "/api/v1/apptokens", "alice", "", tc.body).want(t, tc.status, tc.code)
		})
	}
	e.doType(t, "POST", "/api/v1/apptokens", "alice", "", `{"name":"x"}`, "text/plain").want(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	e.doType(t, "POST", "/api/v1/apptokens", "alice", "", `name=x`, "application/x-www-form-urlencoded").want(t, http.StatusUnsupportedMediaType, "unsupported_media_type")

	e.do(t, "DELETE", "/api/v1/apptokens/laptop", "alice", "", "").want(t, http.StatusNoContent, "")
	e.do(t, "DELETE", "/api/v1/apptokens/laptop", "alice", "", "").want(t, http.StatusNotFound, "not_found")
	if _, err := e.st.GetAppTokenByHash(ctx, apptoken.Hash(c.Token)); err == nil {
		t.Fatal("revoked token still stored")
	}
}

func TestAppTokenCap(t *testing.T) {
	e := newAPIEnv(t, 5)
	for i := range 5 {
		e.createToken(t, "alice", `{"name":"t`+string(rune('0'+i))+`"}`)
	}
	r := e.do(t, "POST", "/api/v1/apptokens", "alice", "", `{"name":"sixth"}`).want(t, http.StatusConflict, "limit_reached")
	for _, w := range []string{"5 app tokens", "maximum", "DELETE /api/v1/apptokens/NAME"} {
		if !strings.Contains(r.message(), w) {
			t.Fatalf("message %q lacks %q", r.message(), w)
		}
	}
	// The cap is per user.
	e.createToken(t, "bob", `{"name":"t0"}`)
	// An admin hitting alice's cap is told the admin path.
	r = e.do(t, "POST", "/api/v1/users/alice/apptokens", "root", "", `{"name":"sixth"}`).want(t, http.StatusConflict, "limit_reached")
	if !strings.Contains(r.message(), "/api/v1/users/alice/apptokens") {
		t.Fatalf("admin message: %q", r.message())
	}
	e.do(t, "DELETE", "/api/v1/apptokens/t3", "alice", "", "").want(t, http.StatusNoContent, "")
	e.createToken(t, "alice", `{"name":"sixth"}`)
}

// App tokens are refused on the whole API, including for the owner's own
// tokens and for an admin's token, with a message that says so.
func TestAppTokensRefusedByAPI(t *testing.T) {
	e := newAPIEnv(t, 5)
	mine := e.createToken(t, "alice", `{"name":"laptop"}`)
	admins := e.createToken(t, "root", `{"name":"laptop"}`)
	for _, tc := range []struct{ method, path, user, tok, body string }{
		{"GET", "/api/v1/apptokens", "alice", mine.Token, ""},
		{"POST", "/api/v1/apptokens", "alice", mine.Token, `{"name":"more"}`},
		{"DELETE", "/api/v1/apptokens/laptop", "alice", mine.Token, ""},
		{"GET", "/api/v1/sessions", "alice", mine.Token, ""},
		{"GET", "/api/v1/me", "alice", mine.Token, ""},
		{"GET", "/api/v1/users", "root", admins.Token, ""},
		{"POST", "/api/v1/users", "root", admins.Token, `{"name":"eve","password":"x"}`},
		{"POST", "/api/v1/users/alice/apptokens", "root", admins.Token, `{"name":"x"}`},
		// Even a token given with another user's name.
		{"GET", "/api/v1/users", "root", mine.Token, ""},
	} {
		r := e.do(t, tc.method, tc.path, tc.user, tc.tok, tc.body).want(t, http.StatusForbidden, "app_token_refused")
		if !strings.Contains(r.message(), "app tokens cannot be used for the API") {
			t.Fatalf("%s %s: message %q", tc.method, tc.path, r.message())
		}
	}
	toks, _ := e.st.ListAppTokens(context.Background(), "")
	if len(toks) != 2 {
		t.Fatalf("tokens changed through a refused request: %d", len(toks))
	}
	if _, err := e.st.GetUser(context.Background(), "eve"); err == nil {
		t.Fatal("user created with an app token")
	}
}

func TestAdminManagesOthersTokens(t *testing.T) {
	e := newAPIEnv(t, 5)
	var c api.CreatedAppToken
	e.do(t, "POST", "/api/v1/users/alice/apptokens", "root", "", `{"name":"deploy","scopes":["repository:alice/**:pull,push"]}`).
		want(t, http.StatusCreated, "").decode(t, &c)
	if c.User != "alice" || !apptoken.LooksLike(c.Token) {
		t.Fatalf("created %+v", c)
	}
	var list []api.AppToken
	e.do(t, "GET", "/api/v1/apptokens", "alice", "", "").want(t, http.StatusOK, "").decode(t, &list)
	if len(list) != 1 || list[0].Name != "deploy" {
		t.Fatalf("alice's list: %+v", list)
	}
	e.do(t, "GET", "/api/v1/users/alice/apptokens", "root", "", "").want(t, http.StatusOK, "").decode(t, &list)
	if len(list) != 1 {
		t.Fatalf("admin's view: %+v", list)
	}
	e.do(t, "POST", "/api/v1/users/nobody/apptokens", "root", "", `{"name":"x"}`).want(t, http.StatusNotFound, "not_found")
	e.do(t, "POST", "/api/v1/users/..%2Fetc/apptokens", "root", "", `{"name":"x"}`).want(t, http.StatusNotFound, "not_found")
	// Not for non-admins, not even about themselves.
	e.do(t, "GET", "/api/v1/users/alice/apptokens", "alice", "", "").want(t, http.StatusForbidden, "forbidden")
	e.do(t, "POST", "/api/v1/users/bob/apptokens", "alice", "", `{"name":"x"}`).want(t, http.StatusForbidden, "forbidden")
	e.do(t, "DELETE", "/api/v1/users/alice/apptokens/deploy", "bob", "", "").want(t, http.StatusForbidden, "forbidden")
	e.do(t, "DELETE", "/api/v1/users/alice/apptokens/deploy", "root", "", "").want(t, http.StatusNoContent, "")
	e.do(t, "DELETE", "/api/v1/users/alice/apptokens/deploy", "root", "", "").want(t, http.StatusNotFound, "not_found")
}
