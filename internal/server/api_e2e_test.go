package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestAPIThroughServer checks the API as the server mounts it: JSON
// errors, app tokens refused, users managing their own tokens.
func TestAPIThroughServer(t *testing.T) {
	in := startPortcullis(t, publicACL)
	alicePW := testUsers["alice"]
	st, body := in.apiCall(t, "GET", "/api/v1/apptokens", "", "", "")
	if st != http.StatusUnauthorized || !strings.Contains(string(body), `"error": "unauthorized"`) {
		t.Fatalf("no credentials: %d %s", st, body)
	}
	st, body = in.apiCall(t, "GET", "/api/v1/nope", "alice", alicePW, "")
	if st != http.StatusNotFound || !strings.Contains(string(body), `"not_found"`) {
		t.Fatalf("unknown path: %d %s", st, body)
	}
	in.apiToken(t, "alice", alicePW, `{"name":"one"}`)
	st, body = in.apiCall(t, "GET", "/api/v1/apptokens", "alice", alicePW, "")
	var list []struct{ Name, User string }
	if st != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list) != 1 || list[0].Name != "one" {
		t.Fatalf("list: %d %s", st, body)
	}
	if strings.Contains(string(body), "pcat_") {
		t.Fatalf("list shows a secret: %s", body)
	}
	if strings.Contains(in.Logs(), alicePW) {
		t.Fatal("a password appears in the log")
	}
}

// pgInstances starts two Portcullis instances on one PostgreSQL database,
// as behind a load balancer.
func pgInstances(t *testing.T) (*instance, *instance) {
	testenv.Integration(t)
	dsn := testenv.StartPostgres(t)
	extra := publicACL + fmt.Sprintf("store:\n  type: postgres\n  dsn: %q\n", dsn)
	return startPortcullis(t, extra), startPortcullis(t, extra)
}

// TestTwoInstancesOnePostgres: a token created on one instance works on
// the other at once; one revoked on one is refused by the other within a
// second, even right after the other accepted it.
func TestTwoInstancesOnePostgres(t *testing.T) {
	a, b := pgInstances(t)
	alicePW := testUsers["alice"]
	const scope = "repository:alice/app:pull,push"

	tok := a.apiToken(t, "alice", alicePW, `{"name":"shared"}`)
	wantToken(t, b, "alice", tok, scope, http.StatusOK, "pull", "push")
	wantToken(t, a, "alice", tok, scope, http.StatusOK, "pull", "push")

	// Revoked on B (through the CLI on the shared store) while A has
	// just accepted it.
	b.mustPortcullis(t, "", "apptoken", "revoke", "--user", "alice", "shared")
	refusedWithin(t, a, "alice", tok, scope, time.Second)

	// Revoked over A's API, refused by B.
	tok2 := a.apiToken(t, "alice", alicePW, `{"name":"second"}`)
	wantToken(t, b, "alice", tok2, scope, http.StatusOK, "pull", "push")
	if st, body := a.apiCall(t, "DELETE", "/api/v1/apptokens/second", "alice", alicePW, ""); st != http.StatusNoContent {
		t.Fatalf("revoke on A: %d %s", st, body)
	}
	refusedWithin(t, b, "alice", tok2, scope, time.Second)

	// The cap counts tokens made on both instances.
	for i, in := range []*instance{a, b, a, b, a} {
		in.apiToken(t, "alice", alicePW, fmt.Sprintf(`{"name":"n%d"}`, i))
	}
	if st, body := b.apiCall(t, "POST", "/api/v1/apptokens", "alice", alicePW, `{"name":"sixth"}`); st != http.StatusConflict {
		t.Fatalf("sixth token on B: %d %s", st, body)
	}

	// A database user disabled on A is refused by B within a second,
	// although B holds the password in its verification cache.
	if st, body := a.apiCall(t, "POST", "/api/v1/users", "carol", testUsers["carol"], `{"name":"dave","password":"dave-pw"}`); st != http.StatusCreated {
		t.Fatalf("create dave: %d %s", st, body)
	}
	daveTok := b.apiToken(t, "dave", "dave-pw", `{"name":"d"}`)
	wantToken(t, b, "dave", "dave-pw", "repository:dave/x:push", http.StatusOK, "push")
	wantToken(t, b, "dave", daveTok, "repository:dave/x:push", http.StatusOK, "push")
	if st, body := a.apiCall(t, "PATCH", "/api/v1/users/dave", "carol", testUsers["carol"], `{"disabled":true}`); st != http.StatusOK {
		t.Fatalf("disable dave on A: %d %s", st, body)
	}
	refusedWithin(t, b, "dave", "dave-pw", "repository:dave/x:push", time.Second)
	refusedWithin(t, b, "dave", daveTok, "repository:dave/x:push", time.Second)
}

// refusedWithin polls in's /token until it answers 401 for the
// credentials, failing after limit.
func refusedWithin(t *testing.T, in *instance, user, pass, scope string, limit time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		st, _, body := in.tokenStatus(t, user, pass, scope)
		if st == http.StatusUnauthorized {
			t.Logf("%s refused after %v", user, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > limit {
			t.Fatalf("%s still accepted %v after revocation: %d %s", user, limit, st, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
