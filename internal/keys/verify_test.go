package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	rs, es, hs := genKey(t, "RS256"), genKey(t, "ES256"), genKey(t, "HS256")
	set, err := NewSet([]*Key{rs, es, hs}, 1)
	if err != nil {
		t.Fatal(err)
	}
	claims := claimsJSON(t)
	good, err := es.SignCompact(claims)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"ES256", "RS256", "HS256"}
	if err := set.Verify(good, all, &jwt.RegisteredClaims{}); err != nil {
		t.Fatalf("good token refused: %v", err)
	}

	// Alg confusion: HMAC over the token with the RSA public key (PEM and
	// DER, the usual attacks) as secret, under the RSA key's kid.
	der, _ := x509.MarshalPKIXPublicKey(rs.Public)
	pemPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	attackerJWK, _ := json.Marshal(jose.JSONWebKey{Key: &attacker.PublicKey, KeyID: es.KID})
	var jwkMap map[string]any
	_ = json.Unmarshal(attackerJWK, &jwkMap)
	expired, _ := json.Marshal(map[string]any{"sub": "alice", "exp": time.Now().Add(-time.Hour).Unix()})
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"root"}`)) + "." + parts[2]

	tests := []struct {
		name    string
		token   string
		algs    []string
		wantErr error
	}{
		{"alg none", forge(t, map[string]any{"alg": "none", "typ": "JWT", "kid": es.KID}, claims, nil, nil), all, nil},
		{"alg none allowed by caller", forge(t, map[string]any{"alg": "none", "kid": es.KID}, claims, nil, nil), []string{"none"}, ErrAlgorithm},
		{"HS256 with RSA public key PEM", forge(t, map[string]any{"alg": "HS256", "kid": rs.KID}, claims, jwt.SigningMethodHS256, pemPub), all, ErrAlgorithm},
		{"HS256 with RSA public key DER", forge(t, map[string]any{"alg": "HS256", "kid": rs.KID}, claims, jwt.SigningMethodHS256, der), all, ErrAlgorithm},
		{"wrong kid", forge(t, map[string]any{"alg": "ES256", "kid": "AAAA:BBBB"}, claims, jwt.SigningMethodES256, attacker), all, ErrUnknownKey},
		{"no kid", forge(t, map[string]any{"alg": "ES256"}, claims, jwt.SigningMethodES256, es.Private), all, ErrUnknownKey},
		{"embedded jwk with our kid", forge(t, map[string]any{"alg": "ES256", "kid": es.KID, "jwk": jwkMap}, claims, jwt.SigningMethodES256, attacker), all, nil},
		{"jku and x5u ignored", forge(t, map[string]any{"alg": "ES256", "kid": "x", "jku": "https://127.0.0.1/jwks", "x5u": "https://127.0.0.1/c"}, claims, jwt.SigningMethodES256, attacker), all, ErrUnknownKey},
		{"kid of another alg", forge(t, map[string]any{"alg": "RS256", "kid": es.KID}, claims, jwt.SigningMethodRS256, rs.Private), all, ErrAlgorithm},
		{"not in allow-list", good, []string{"RS256"}, nil},
		{"empty allow-list", good, nil, ErrAlgorithm},
		{"oversized", good + strings.Repeat("A", MaxTokenSize), all, ErrTokenTooLarge},
		{"many dots", strings.Repeat(".", MaxTokenSize+1), all, ErrTokenTooLarge},
		{"expired", forge(t, map[string]any{"alg": "ES256", "kid": es.KID}, expired, jwt.SigningMethodES256, es.Private), all, jwt.ErrTokenExpired},
		{"tampered payload", tampered, all, jwt.ErrTokenSignatureInvalid},
		{"garbage", "not a token", all, jwt.ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c jwt.RegisteredClaims
			err := set.Verify(tt.token, tt.algs, &c)
			if err == nil {
				t.Fatalf("accepted (sub %q)", c.Subject)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyRotation(t *testing.T) {
	t.Parallel()
	old, cur := genKey(t, "ES256"), genKey(t, "EdDSA")
	oldTok, err := old.SignCompact(claimsJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet([]*Key{old, cur}, 1)
	if err != nil {
		t.Fatal(err)
	}
	newTok, err := set.Signer.SignCompact(claimsJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{oldTok, newTok} {
		if err := set.Verify(tok, []string{"ES256", "EdDSA"}, &jwt.RegisteredClaims{}); err != nil {
			t.Errorf("rotation: %v", err)
		}
	}
	// Once the old key is removed its tokens fail.
	only, _ := NewSet([]*Key{cur}, 0)
	if err := only.Verify(oldTok, []string{"ES256", "EdDSA"}, &jwt.RegisteredClaims{}); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("removed key still verifies: %v", err)
	}
}
