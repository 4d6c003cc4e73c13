package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/api"
)

func TestAuthentication(t *testing.T) {
	e := newAPIEnv(t, 5)
	r := e.do(t, "GET", "/api/v1/apptokens", "", "", "").want(t, http.StatusUnauthorized, "unauthorized")
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	e.do(t, "GET", "/api/v1/apptokens", "alice", "wrong", "").want(t, http.StatusUnauthorized, "unauthorized")
	e.do(t, "GET", "/api/v1/apptokens", "nobody", "x", "").want(t, http.StatusUnauthorized, "unauthorized")
	e.do(t, "GET", "/api/v1/apptokens", "alice", strings.Repeat("p", 2000), "").want(t, http.StatusUnauthorized, "unauthorized")
	var me api.Me
	e.do(t, "GET", "/api/v1/me", "alice", "", "").want(t, http.StatusOK, "").decode(t, &me)
	if me.Account != "alice" || me.Admin || me.Source != "db" {
		t.Fatalf("me: %+v", me)
	}
	e.do(t, "GET", "/api/v1/me", "root", "", "").want(t, http.StatusOK, "").decode(t, &me)
	if !me.Admin {
		t.Fatalf("root is not admin: %+v", me)
	}
	if r := e.do(t, "GET", "/api/v1/me", "alice", "", ""); r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	e := newAPIEnv(t, 5)
	e.do(t, "GET", "/api/v1/nothing", "alice", "", "").want(t, http.StatusNotFound, "not_found")
	e.do(t, "GET", "/api/v1/apptokens/x/y", "alice", "", "").want(t, http.StatusNotFound, "not_found")
	r := e.do(t, "PUT", "/api/v1/apptokens", "alice", "", "").want(t, http.StatusMethodNotAllowed, "method_not_allowed")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Fatalf("Allow %q", allow)
	}
	// Unknown paths do not reveal whether credentials are right.
	e.do(t, "GET", "/api/v1/nothing", "", "", "").want(t, http.StatusNotFound, "not_found")
}

func TestSessions(t *testing.T) {
	e := newAPIEnv(t, 5)
	ctx := context.Background()
	e.addSession(t, "alice", "a1")
	e.addSession(t, "alice", "a2")
	e.addSession(t, "alice", "a3")
	e.addSession(t, "bob", "b1")

	var ss []api.Session
	r := e.do(t, "GET", "/api/v1/sessions", "alice", "", "").want(t, http.StatusOK, "")
	r.decode(t, &ss)
	if len(ss) != 3 || ss[0].ClientID != "docker" || ss[0].User != "alice" {
		t.Fatalf("alice's sessions: %s", r.body)
	}
	// Ownership: alice cannot revoke bob's session by id.
	e.do(t, "DELETE", "/api/v1/sessions/b1", "alice", "", "").want(t, http.StatusNotFound, "not_found")
	e.do(t, "DELETE", "/api/v1/sessions/a1", "alice", "", "").want(t, http.StatusNoContent, "")
	e.do(t, "DELETE", "/api/v1/sessions/a1", "alice", "", "").want(t, http.StatusNotFound, "not_found")
	var rev api.Revoked
	e.do(t, "DELETE", "/api/v1/sessions", "alice", "", "").want(t, http.StatusOK, "").decode(t, &rev)
	if rev.Revoked != 2 {
		t.Fatalf("revoked %d, want 2", rev.Revoked)
	}
	if left, _ := e.st.ListRefreshTokens(ctx, "bob"); len(left) != 1 {
		t.Fatalf("bob's session went with alice's: %v", left)
	}
	// Admins manage anyone's.
	e.do(t, "GET", "/api/v1/users/bob/sessions", "alice", "", "").want(t, http.StatusForbidden, "forbidden")
	e.do(t, "GET", "/api/v1/users/bob/sessions", "root", "", "").want(t, http.StatusOK, "").decode(t, &ss)
	if len(ss) != 1 || ss[0].ID != "b1" {
		t.Fatalf("admin view of bob: %+v", ss)
	}
	e.do(t, "DELETE", "/api/v1/users/bob/sessions/b1", "root", "", "").want(t, http.StatusNoContent, "")
	e.addSession(t, "bob", "b2")
	e.do(t, "DELETE", "/api/v1/users/bob/sessions", "root", "", "").want(t, http.StatusOK, "").decode(t, &rev)
	if rev.Revoked != 1 {
		t.Fatalf("revoked %d", rev.Revoked)
	}
}

func TestAdminUsers(t *testing.T) {
	e := newAPIEnv(t, 5)
	ctx := context.Background()
	e.do(t, "GET", "/api/v1/users", "alice", "", "").want(t, http.StatusForbidden, "forbidden")
	e.do(t, "POST", "/api/v1/users", "alice", "", `{"name":"eve","password":"pw","admin":true}`).want(t, http.StatusForbidden, "forbidden")

	var u api.User
	r := e.do(t, "POST", "/api/v1/users", "root", "", `{"name":"dave","password":"dave-pw","labels":{"team":["a"]}}`).want(t, http.StatusCreated, "")
	r.decode(t, &u)
	if u.Name != "dave" || u.Admin || u.Labels["team"][0] != "a" || strings.Contains(string(r.body), "$2") {
		t.Fatalf("created %s", r.body)
	}
	e.do(t, "GET", "/api/v1/me", "dave", "", "").want(t, http.StatusOK, "")
	for _, tc := range []struct{ body, code string }{
		{`{"name":"dave","password":"x"}`, "already_exists"},
		{`{"name":"bad name","password":"x"}`, "invalid_request"},
		{`{"name":"erin","password":""}`, "invalid_request"},
		{`{"name":"erin","password":"` + strings.Repeat("x", 73) + `"}`, "invalid_request"},
		{`{"name":"erin","password":"x","generation":7}`, "invalid_request"},
		{`{"name":"erin","password":"x","labels":{"k":["` + strings.Repeat("v", 300) + `"]}}`, "invalid_request"},
	} {
		r := e.do(t, "POST", "/api/v1/users", "root", "", tc.body)
		if r.errCode() != tc.code {
			t.Fatalf("%s: got %d %s, want %s", tc.body, r.status, r.body, tc.code)
		}
	}
	var list []api.User
	e.do(t, "GET", "/api/v1/users", "root", "", "").want(t, http.StatusOK, "").decode(t, &list)
	if len(list) != 4 {
		t.Fatalf("users: %+v", list)
	}
	e.do(t, "GET", "/api/v1/users/dave", "root", "", "").want(t, http.StatusOK, "")
	e.do(t, "GET", "/api/v1/users/nobody", "root", "", "").want(t, http.StatusNotFound, "not_found")

	// Disabling takes effect on the next request, cached credentials
	// included (dave was just authenticated above).
	e.do(t, "PATCH", "/api/v1/users/dave", "root", "", `{"disabled":true}`).want(t, http.StatusOK, "").decode(t, &u)
	if !u.Disabled {
		t.Fatalf("not disabled: %+v", u)
	}
	e.do(t, "GET", "/api/v1/me", "dave", "", "").want(t, http.StatusUnauthorized, "unauthorized")
	e.do(t, "PATCH", "/api/v1/users/dave", "root", "", `{"disabled":false}`).want(t, http.StatusOK, "")
	e.do(t, "GET", "/api/v1/me", "dave", "", "").want(t, http.StatusOK, "")

	// A password change ends the user's sessions and the old password.
	e.addSession(t, "dave", "d1")
	e.do(t, "PATCH", "/api/v1/users/dave", "root", "", `{"password":"dave-new"}`).want(t, http.StatusOK, "")
	if ss, _ := e.st.ListRefreshTokens(ctx, "dave"); len(ss) != 0 {
		t.Fatalf("sessions survive a password change: %v", ss)
	}
	e.do(t, "GET", "/api/v1/me", "dave", "", "").want(t, http.StatusUnauthorized, "unauthorized")
	e.do(t, "GET", "/api/v1/me", "dave", "dave-new", "").want(t, http.StatusOK, "")

	// The last enabled administrator cannot lock everyone out.
	e.do(t, "PATCH", "/api/v1/users/root", "root", "", `{"disabled":true}`).want(t, http.StatusConflict, "last_admin")
	e.do(t, "PATCH", "/api/v1/users/root", "root", "", `{"admin":false}`).want(t, http.StatusConflict, "last_admin")
	e.do(t, "DELETE", "/api/v1/users/root", "root", "", "").want(t, http.StatusConflict, "last_admin")
	e.do(t, "PATCH", "/api/v1/users/nobody", "root", "", `{"disabled":true}`).want(t, http.StatusNotFound, "not_found")

	// Promotion is explicit and admin-only.
	e.do(t, "PATCH", "/api/v1/users/dave", "alice", "", `{"admin":true}`).want(t, http.StatusForbidden, "forbidden")
	e.do(t, "PATCH", "/api/v1/users/dave", "root", "", `{"admin":true}`).want(t, http.StatusOK, "").decode(t, &u)
	if !u.Admin {
		t.Fatal("not promoted")
	}
	e.do(t, "GET", "/api/v1/users", "dave", "dave-new", "").want(t, http.StatusOK, "")

	e.do(t, "POST", "/api/v1/apptokens", "dave", "dave-new", `{"name":"t"}`).want(t, http.StatusCreated, "")
	e.do(t, "DELETE", "/api/v1/users/dave", "root", "", "").want(t, http.StatusNoContent, "")
	e.do(t, "DELETE", "/api/v1/users/dave", "root", "", "").want(t, http.StatusNotFound, "not_found")
	if toks, _ := e.st.ListAppTokens(ctx, "dave"); len(toks) != 0 {
		t.Fatalf("tokens of a removed user remain: %v", toks)
	}
}
