package keys

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// TestRoundTrip generates, saves, loads, signs and verifies with every
// algorithm.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			keyPath, certPath := filepath.Join(dir, "sub", "signing.key"), filepath.Join(dir, "signing.crt")
			hmac := IsHMAC(alg)
			if hmac {
				certPath = ""
			}
			k := genKey(t, alg)
			if hmac != (k.Public == nil) || hmac != (len(k.Chain) == 0) {
				t.Fatalf("HMAC=%v but Public=%v, chain=%d", hmac, k.Public, len(k.Chain))
			}
			if err := k.Save(keyPath, certPath); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(keyPath)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("key file mode %o, want 600", perm)
			}
			l, err := Load(keyPath, certPath, alg)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if l.KID != k.KID || l.Alg != alg || l.Fingerprint() != k.Fingerprint() || l.Thumbprint() != k.Thumbprint() {
				t.Fatalf("loaded key differs: kid %s/%s fp %s/%s", l.KID, k.KID, l.Fingerprint(), k.Fingerprint())
			}
			if len(l.Chain) != len(k.Chain) {
				t.Fatalf("chain length %d, want %d", len(l.Chain), len(k.Chain))
			}

			tok, err := l.SignCompact(claimsJSON(t))
			if err != nil {
				t.Fatal(err)
			}
			h := decodeHeader(t, tok)
			if h["typ"] != "JWT" || h["alg"] != alg || h["kid"] != k.KID {
				t.Errorf("header %v", h)
			}
			if _, has := h["x5c"]; has == hmac {
				t.Errorf("x5c present=%v for %s", has, alg)
			}

			// Verified by the set built from the key as generated, not as
			// loaded: proves the files held the same key.
			set, err := NewSet([]*Key{k}, 0)
			if err != nil {
				t.Fatal(err)
			}
			var claims jwt.RegisteredClaims
			if err := set.Verify(tok, []string{alg}, &claims); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if claims.Subject != "alice" {
				t.Errorf("sub %q", claims.Subject)
			}
			if err := set.Verify(tok, slices.DeleteFunc(slices.Clone(Algorithms), func(a string) bool { return a == alg }), &jwt.RegisteredClaims{}); err == nil {
				t.Error("Verify accepted an algorithm outside the allow-list")
			}
		})
	}
}

// TestRegistryX5C checks a token the way distribution 3.x does: the x5c
// chain must verify against the certificate used as rootcertbundle, and
// the leaf's key must verify the signature.
func TestRegistryX5C(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ES256", "ES384", "ES512", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			k := genKey(t, alg)
			tok, err := k.SignCompact(claimsJSON(t))
			if err != nil {
				t.Fatal(err)
			}
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(k.Chain[0])
			chains, err := jws.Signatures[0].Protected.Certificates(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			if err != nil {
				t.Fatalf("x5c chain does not verify against the bundle: %v", err)
			}
			if _, err := jws.Verify(chains[0][0].PublicKey); err != nil {
				t.Fatalf("signature does not verify with the x5c leaf key: %v", err)
			}
			if jws.Signatures[0].Protected.KeyID != k.KID {
				t.Errorf("kid %q, want %q", jws.Signatures[0].Protected.KeyID, k.KID)
			}
		})
	}
}

// TestHeaderMap checks Header's content and that callers get a copy.
func TestHeaderMap(t *testing.T) {
	t.Parallel()
	k := genKey(t, "ES256")
	h := k.Header()
	x5c, ok := h["x5c"].([]string)
	if !ok || len(x5c) != 1 || h["kid"] != k.KID || h["alg"] != "ES256" || h["typ"] != "JWT" {
		t.Fatalf("header %v", h)
	}
	h["kid"] = "changed"
	if k.Header()["kid"] != k.KID {
		t.Fatal("Header returned shared state")
	}
	hs := genKey(t, "HS256")
	if _, ok := hs.Header()["x5c"]; ok {
		t.Fatal("HS256 header has x5c")
	}
}
