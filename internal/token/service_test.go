package token_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/portcullis/portcullis/internal/acl"
	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/static"
	"github.com/portcullis/portcullis/internal/keys"
	"github.com/portcullis/portcullis/internal/token"
	"golang.org/x/crypto/bcrypt"
)

func newService(t testing.TB, alg string, cost int) (*token.Service, *keys.Set) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), cost)
	if err != nil {
		t.Fatal(err)
	}
	st, err := static.New("static", map[string]static.User{"alice": {Hash: h}, "root": {Hash: h, Admin: true}})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := authn.NewChain([]authn.Link{{Authenticator: st}}, authn.NewCache(time.Minute, 100), cost, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.Generate(alg, keys.GenerateOptions{CommonName: "test", Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.NewSet([]*keys.Key{k}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := acl.New(acl.Default())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := token.New(token.Settings{Issuer: "iss", Services: []string{"registry"}, Expiration: 5 * time.Minute},
		token.Deps{Keys: ks, ACL: rules, Authn: chain})
	if err != nil {
		t.Fatal(err)
	}
	return svc, ks
}

type verifiedClaims struct {
	jwt.RegisteredClaims
	Access []token.Access `json:"access"`
}

func TestServiceSignsVerifiableTokens(t *testing.T) {
	for _, alg := range []string{"ES256", "ES384", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			svc, ks := newService(t, alg, bcrypt.MinCost)
			r := httptest.NewRequest("GET", "/token?service=registry&scope=repository:alice/x:pull,push&scope=repository:bob/x:pull", nil)
			r.SetBasicAuth("alice", "pw")
			w := httptest.NewRecorder()
			svc.ServeHTTP(w, r)
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var resp token.Response
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			var c verifiedClaims
			if err := ks.Verify(resp.Token, []string{alg}, &c); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if len(c.Access) != 1 || c.Access[0].Name != "alice/x" || strings.Join(c.Access[0].Actions, ",") != "pull,push" {
				t.Fatalf("access %+v", c.Access)
			}
		})
	}
}

func TestServiceErrors(t *testing.T) {
	svc, _ := newService(t, "ES256", bcrypt.MinCost)
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"wrong password", func() *http.Request {
			r := httptest.NewRequest("GET", "/token?service=registry", nil)
			r.SetBasicAuth("alice", "nope")
			return r
		}, 401},
		{"unknown user", func() *http.Request {
			r := httptest.NewRequest("GET", "/token?service=registry", nil)
			r.SetBasicAuth("zed", "nope")
			return r
		}, 401},
		{"empty password", func() *http.Request {
			r := httptest.NewRequest("GET", "/token?service=registry", nil)
			r.SetBasicAuth("alice", "")
			return r
		}, 401},
		{"refresh without store", func() *http.Request {
			r := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=refresh_token&refresh_token=pcrt_x"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 401},
		{"unknown service", func() *http.Request { return httptest.NewRequest("GET", "/token?service=x", nil) }, 400},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, c.req())
		if w.Code != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, w.Code, c.status, w.Body)
		}
		if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
	}
}

// BenchmarkTokenWarm measures one token request for a user whose
// credentials are in the cache (cost-10 bcrypt paid once).
func BenchmarkTokenWarm(b *testing.B) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		b.Run(alg, func(b *testing.B) {
			svc, _ := newService(b, alg, 10)
			req := func() *http.Request {
				r := httptest.NewRequest("GET", "/token?service=registry&scope=repository:alice/app:pull,push", nil)
				r.SetBasicAuth("alice", "pw")
				return r
			}
			svc.ServeHTTP(httptest.NewRecorder(), req())
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				svc.ServeHTTP(w, req())
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
