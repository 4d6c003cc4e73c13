package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequestBodies sends arbitrary bodies to every endpoint that reads
// one: the API must answer with a 2xx or a 4xx JSON error, never a 5xx.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		`{"name":"x"}`, `{"name":"x","expires":"90d","scopes":["repository:a/*:pull"]}`,
		`{"name":"x","password":"p","labels":{"k":["v"]}}`, `{"disabled":true}`, `{"password":null}`,
		`{`, `[]`, `null`, `{"name":"x"} {}`, `{"scopes":["repository:***:pull"]}`, "\x00", `{"expires":"99999999999d"}`,
	} {
		f.Add(s)
	}
	e := newAPIEnv(f, 1000)
	paths := []struct{ method, path string }{
		{"POST", "/api/v1/apptokens"},
		{"POST", "/api/v1/users/alice/apptokens"},
		{"POST", "/api/v1/users"},
		{"PATCH", "/api/v1/users/bob"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			req := httptest.NewRequest(p.method, p.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.SetBasicAuth("root", "root-pw")
			rec := httptest.NewRecorder()
			e.srv.Config.Handler.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", p.method, p.path, body, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" && rec.Code != http.StatusNoContent {
				t.Fatalf("Content-Type %q", ct)
			}
		}
	})
}
