package keys

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testOpts keeps RSA generation fast in tests.
var testOpts = GenerateOptions{CommonName: "test signing", Validity: time.Hour, RSABits: 2048}

// genKey generates a key or fails the test.
func genKey(t testing.TB, alg string) *Key {
	t.Helper()
	k, err := Generate(alg, testOpts)
	if err != nil {
		t.Fatalf("Generate(%s): %v", alg, err)
	}
	return k
}

// claimsJSON is a registry-style claim set valid for a minute.
func claimsJSON(t testing.TB) []byte {
	t.Helper()
	now := time.Now()
	b, err := json.Marshal(map[string]any{
		"iss": "portcullis", "sub": "alice", "aud": "registry",
		"exp": now.Add(time.Minute).Unix(), "nbf": now.Add(-time.Second).Unix(), "iat": now.Unix(),
		"jti":    "j1",
		"access": []map[string]any{{"type": "repository", "name": "alice/app", "actions": []string{"pull", "push"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeHeader returns a compact token's decoded JOSE header.
func decodeHeader(t testing.TB, token string) map[string]any {
	t.Helper()
	h, _, ok := strings.Cut(token, ".")
	if !ok {
		t.Fatalf("not a compact JWS: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("header base64: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("header JSON: %v", err)
	}
	return m
}

// forge builds a token with an arbitrary header, signed with method and
// key (for attacks on Verify).
func forge(t testing.TB, header map[string]any, claims []byte, method jwt.SigningMethod, key any) string {
	t.Helper()
	hb, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(claims)
	if method == nil {
		return in + "."
	}
	sig, err := method.Sign(in, key)
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}
