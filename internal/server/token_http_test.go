package server_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

type jwtParts struct {
	Header map[string]any
	Claims struct {
		Iss    string `json:"iss"`
		Sub    string `json:"sub"`
		Aud    any    `json:"aud"`
		Exp    int64  `json:"exp"`
		Nbf    int64  `json:"nbf"`
		Iat    int64  `json:"iat"`
		Jti    string `json:"jti"`
		Access []struct {
			Type    string   `json:"type"`
			Name    string   `json:"name"`
			Actions []string `json:"actions"`
		} `json:"access"`
	}
}

func decodeJWT(t *testing.T, tok string) jwtParts {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var p jwtParts
	for i, dst := range []any{&p.Header, &p.Claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	return p
}

func TestTokenEndpoint(t *testing.T) {
	in := startPortcullis(t, publicACL)
	alice := testUsers["alice"]

	t.Run("claims and header", func(t *testing.T) {
		q := url.Values{"service": {"registry"}, "account": {"alice"},
			"scope": {"repository:alice/app:pull,push,delete", "repository:bob/app:pull repository:public/x:pull,push", "registry:catalog:*"}}
		resp, tr, body := in.getToken(t, "/token", "alice", alice, q)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if tr.Token == "" || tr.Token != tr.AccessToken {
			t.Fatalf("token and access_token must be equal and set: %s", body)
		}
		if tr.ExpiresIn < 60 {
			t.Fatalf("expires_in %d < 60", tr.ExpiresIn)
		}
		if _, err := time.Parse(time.RFC3339, tr.IssuedAt); err != nil {
			t.Fatalf("issued_at %q not RFC 3339", tr.IssuedAt)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", resp.Header.Get("Cache-Control"))
		}
		j := decodeJWT(t, tr.Token)
		if j.Header["alg"] != "ES256" || j.Header["kid"] == nil || j.Header["x5c"] == nil || j.Header["typ"] != "JWT" {
			t.Fatalf("header %v: want ES256 with kid and x5c", j.Header)
		}
		c := j.Claims
		if c.Iss != "portcullis" || c.Sub != "alice" || c.Aud != "registry" || c.Jti == "" {
			t.Fatalf("claims %+v", c)
		}
		if c.Exp-c.Iat != int64(tr.ExpiresIn) || c.Nbf > c.Iat {
			t.Fatalf("times exp=%d iat=%d nbf=%d expires_in=%d", c.Exp, c.Iat, c.Nbf, tr.ExpiresIn)
		}
		got := map[string][]string{}
		for _, a := range c.Access {
			got[a.Type+":"+a.Name] = a.Actions
		}
		want := map[string][]string{
			"repository:alice/app": {"pull", "push", "delete"},
			"repository:public/x":  {"pull"},
		}
		if len(got) != len(want) {
			t.Fatalf("access %v, want %v", got, want)
		}
		for k, v := range want {
			if !slices.Equal(got[k], v) {
				t.Fatalf("access[%s] = %v, want %v (all: %v)", k, got[k], v, got)
			}
		}
		_, tr2, _ := in.getToken(t, "/token", "alice", alice, q)
		if decodeJWT(t, tr2.Token).Claims.Jti == c.Jti {
			t.Fatal("jti repeated")
		}
	})

	t.Run("aliases answer", func(t *testing.T) {
		for _, p := range []string{"/auth", "/v2/token"} {
			resp, tr, body := in.getToken(t, p, "alice", alice, url.Values{"service": {"registry"}})
			if resp.StatusCode != 200 || tr.Token == "" {
				t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
			}
		}
	})

	t.Run("login without scope", func(t *testing.T) {
		_, tr, _ := in.getToken(t, "/token", "alice", alice, url.Values{"service": {"registry"}})
		if n := len(decodeJWT(t, tr.Token).Claims.Access); n != 0 {
			t.Fatalf("login token carries %d access entries", n)
		}
	})

	t.Run("wrong password and unknown user", func(t *testing.T) {
		for _, c := range [][2]string{{"alice", "nope"}, {"mallory", "x"}} {
			resp, _, body := in.getToken(t, "/token", c[0], c[1], url.Values{"service": {"registry"}})
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Fatalf("%s: status %d, challenge %q", c[0], resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			var e struct {
				Errors []struct{ Code, Message string }
			}
			if err := json.Unmarshal(body, &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Code != "UNAUTHORIZED" {
				t.Fatalf("error body %s", body)
			}
			if strings.Contains(string(body), c[1]) {
				t.Fatal("password echoed")
			}
		}
		if strings.Contains(in.Logs(), "alice-secret") || strings.Contains(in.Logs(), "nope") {
			t.Fatal("a password reached the log")
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		resp, tr, body := in.getToken(t, "/token", "", "", url.Values{"service": {"registry"}, "scope": {"repository:public/x:pull,push", "repository:alice/app:pull"}})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		c := decodeJWT(t, tr.Token).Claims
		if c.Sub != "" || len(c.Access) != 1 || c.Access[0].Name != "public/x" || !slices.Equal(c.Access[0].Actions, []string{"pull"}) {
			t.Fatalf("anonymous claims %+v", c)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			q    url.Values
			// the message must say what to fix
			want string
		}{
			{"unknown service", url.Values{"service": {"other"}}, `unknown service \"other\": this server issues tokens for service \"registry\"`},
			{"bad scope", url.Values{"scope": {"repository:nope"}}, "want type:name:actions"},
			{"account mismatch", url.Values{"service": {"registry"}, "account": {"bob"}}, "account parameter does not match"},
			{"too many actions in one scope", url.Values{"scope": {manyActions(17, ",")}}, "too many actions"},
			// Scopes naming the same repository are merged: the merged
			// scope has the same bound as one scope.
			{"too many actions over merged scopes", url.Values{"scope": {manyActions(17, " ")}}, "too many actions"},
			{"too many actions over repeated parameters", url.Values{"scope": strings.Fields(manyActions(17, " "))}, "too many actions"},
		} {
			resp, _, body := in.getToken(t, "/token", "alice", alice, tc.q)
			if resp.StatusCode != 400 || !strings.Contains(string(body), tc.want) {
				t.Errorf("%s: status %d %s, want 400 saying %s", tc.name, resp.StatusCode, body, tc.want)
			}
		}
	})

	t.Run("oauth2 password and refresh grants", func(t *testing.T) {
		st, tr, body := in.postToken(t, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alice},
			"service": {"registry"}, "client_id": {"containerd-client"}, "access_type": {"offline"},
			"scope": {"repository:alice/app:pull repository:alice/other:push"}})
		if st != 200 || tr.AccessToken == "" || tr.RefreshToken == "" {
			t.Fatalf("password grant: %d %s", st, body)
		}
		if n := len(decodeJWT(t, tr.AccessToken).Claims.Access); n != 2 {
			t.Fatalf("space-separated POST scopes: %d access entries", n)
		}
		st, tr2, body := in.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken},
			"service": {"registry"}, "client_id": {"containerd-client"}, "scope": {"repository:alice/app:pull", "repository:bob/app:pull"}})
		if st != 200 {
			t.Fatalf("refresh grant: %d %s", st, body)
		}
		c := decodeJWT(t, tr2.AccessToken).Claims
		if c.Sub != "alice" || len(c.Access) != 1 || c.Access[0].Name != "alice/app" {
			t.Fatalf("refresh claims %+v", c)
		}
		st, _, _ = in.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"pcrt_forged"}, "client_id": {"containerd-client"}})
		if st != 401 {
			t.Fatalf("forged refresh token: %d", st)
		}
		st, _, _ = in.postToken(t, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wrong"}})
		if st != 401 {
			t.Fatalf("wrong password POST: %d", st)
		}
		// GET with offline_token also returns a refresh token (docker login).
		_, gt, _ := in.getToken(t, "/token", "alice", alice, url.Values{"service": {"registry"}, "offline_token": {"true"}, "client_id": {"docker"}})
		if gt.RefreshToken == "" {
			t.Fatal("GET offline_token=true without refresh_token")
		}
		// HEAD answers without a body: it must not leave a session behind
		// that no client holds.
		before, err := in.srv.Store().ListRefreshTokens(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodHead, in.base+"/token?"+url.Values{"service": {"registry"}, "offline_token": {"true"}, "client_id": {"docker"}}.Encode(), nil)
		req.SetBasicAuth("alice", alice)
		resp, err := in.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		after, err := in.srv.Store().ListRefreshTokens(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || len(after) != len(before) {
			t.Fatalf("HEAD with offline_token: %d, sessions %d -> %d", resp.StatusCode, len(before), len(after))
		}
	})

	t.Run("jwks health metrics", func(t *testing.T) {
		for path, want := range map[string]string{
			"/.well-known/jwks.json": `"keys"`,
			"/healthz":               "ok",
			"/readyz":                "ready",
			"/metrics":               "portcullis_token_requests_total",
		} {
			resp, err := in.client.Get(in.base + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
			}
			if path == "/.well-known/jwks.json" && strings.Contains(string(b), `"d"`) {
				t.Fatal("JWKS contains private key material")
			}
		}
	})
}

// TestMalformedFormKeepsSecretsOutOfLog: a client that does not encode the
// form (curl -d "password=$PASS") sends a password holding "%" raw; the
// 400 and the log must not quote the part of the body that failed, which
// is a piece of the password.
func TestMalformedFormKeepsSecretsOutOfLog(t *testing.T) {
	in := startPortcullis(t, publicACL)
	cases := []struct{ name, body, secret string }{
		{"bad escape in password", "grant_type=password&username=alice&password=s3%Qrt-pass&service=registry", "%Qr"},
		{"bad escape in refresh token", "grant_type=refresh_token&refresh_token=pcrt_%G1abc&service=registry", "%G1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := in.client.Post(in.base+"/token", "application/x-www-form-urlencoded", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d %s", resp.StatusCode, b)
			}
			if strings.Contains(string(b), tc.secret) {
				t.Fatalf("response quotes the secret: %s", b)
			}
			if !strings.Contains(string(b), "form") {
				t.Fatalf("response does not say the form is malformed: %s", b)
			}
			if strings.Contains(in.Logs(), tc.secret) {
				t.Fatalf("log quotes the secret:\n%s", in.Logs())
			}
		})
	}
}

// manyActions is n distinct actions on alice/app, joined by sep: "," gives
// one scope, " " one scope per action.
func manyActions(n int, sep string) string {
	parts := make([]string, n)
	for i := range parts {
		a := "act" + strconv.Itoa(i)
		if sep == "," && i > 0 {
			parts[i] = a
		} else {
			parts[i] = "repository:alice/app:" + a
		}
	}
	return strings.Join(parts, sep)
}
