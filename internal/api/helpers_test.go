package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/api"
	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/apptoken"
	"github.com/portcullis/portcullis/internal/authn/dbuser"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
)

// apiEnv is the API over a real SQLite store and a real chain (app
// tokens, then database users), served by httptest.
type apiEnv struct {
	st  store.Store
	srv *httptest.Server
}

const testCost = 4

func newAPIEnv(t testing.TB, maxTokens int) *apiEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	at := apptoken.New("apptoken", st, apptoken.StoreUsers(st), nil)
	t.Cleanup(func() { at.Close() })
	db := dbuser.New("db", st, nil).WithBcryptCost(testCost)
	chain, err := authn.NewChain([]authn.Link{{Authenticator: at}, {Authenticator: db}}, authn.NewCache(time.Minute, 1000), testCost, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Deps{Store: st, Authn: chain, MaxAppTokens: maxTokens, BcryptCost: testCost})
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", h)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	e := &apiEnv{st: st, srv: srv}
	for _, u := range []struct {
		name  string
		admin bool
	}{{"root", true}, {"alice", false}, {"bob", false}} {
		hash, err := dbuser.HashPassword(u.name+"-pw", testCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, store.User{Name: u.name, PasswordHash: hash, Admin: u.admin}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// resp is a decoded answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) errCode() string {
	var e struct{ Error, Message string }
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}

func (r resp) message() string {
	var e struct{ Error, Message string }
	_ = json.Unmarshal(r.body, &e)
	return e.Message
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request as user (password user+"-pw" unless pass is given;
// user "" sends no credentials). A string body is sent as JSON.
func (e *apiEnv) do(t testing.TB, method, path, user, pass, body string) resp {
	t.Helper()
	return e.doType(t, method, path, user, pass, body, "application/json")
}

func (e *apiEnv) doType(t testing.TB, method, path, user, pass, body, ctype string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" && ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if user != "" {
		if pass == "" {
			pass = user + "-pw"
		}
		req.SetBasicAuth(user, pass)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusNoContent && ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, b)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// want checks the status (and error code when code != "").
func (r resp) want(t testing.TB, status int, code string) resp {
	t.Helper()
	if r.status != status || code != "" && r.errCode() != code {
		t.Fatalf("got %d %s, want %d %s", r.status, bytes.TrimSpace(r.body), status, code)
	}
	return r
}

// createToken creates a token for user through the self-service API.
func (e *apiEnv) createToken(t testing.TB, user, body string) api.CreatedAppToken {
	t.Helper()
	var c api.CreatedAppToken
	e.do(t, "POST", "/api/v1/apptokens", user, "", body).want(t, http.StatusCreated, "").decode(t, &c)
	return c
}

// addSession stores a refresh token for user.
func (e *apiEnv) addSession(t testing.TB, user, id string) {
	t.Helper()
	h := sha256.Sum256([]byte(user + "/" + id))
	if err := e.st.CreateRefreshToken(context.Background(), store.RefreshToken{ID: id, User: user, ClientID: "docker", Hash: h[:]}); err != nil {
		t.Fatal(err)
	}
}
