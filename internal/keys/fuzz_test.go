package keys

import (
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, and
// nothing but the seeded genuine token (or an equivalent) may pass.
func FuzzVerify(f *testing.F) {
	es, err := Generate("ES256", GenerateOptions{})
	if err != nil {
		f.Fatal(err)
	}
	hs, err := Generate("HS256", GenerateOptions{})
	if err != nil {
		f.Fatal(err)
	}
	set, err := NewSet([]*Key{es, hs}, 0)
	if err != nil {
		f.Fatal(err)
	}
	good, err := es.SignCompact([]byte(`{"sub":"alice"}`))
	if err != nil {
		f.Fatal(err)
	}
	goodHS, err := hs.SignCompact([]byte(`{"sub":"bob"}`))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, goodHS, "", ".", "..", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat(".", 100),
		"eyJhbGciOiJFUzI1NiIsImtpZCI6WzFdfQ.e30.AA", "eyJhbGciOiJIUzI1NiIsImtpZCI6bnVsbH0.bnVsbA.AA"} {
		f.Add(s)
	}
	algs := []string{"ES256", "HS256"}
	f.Fuzz(func(t *testing.T, token string) {
		var c jwt.MapClaims
		if err := set.Verify(token, algs, &c); err == nil {
			sub, _ := c["sub"].(string)
			if sub != "alice" && sub != "bob" {
				t.Fatalf("forged token accepted: %q", token)
			}
		}
	})
}

// FuzzParsePrivateKeyPEM checks the key file parser never panics.
func FuzzParsePrivateKeyPEM(f *testing.F) {
	for _, s := range []string{"", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n",
		"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parsePrivateKeyPEM(data)
		_, _ = parseCertsPEM(data)
		_, _ = parseSecret(data)
	})
}
