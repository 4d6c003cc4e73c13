package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestThumbprintRFC7638 uses the RSA example of RFC 7638 section 3.1.
func TestThumbprintRFC7638(t *testing.T) {
	t.Parallel()
	const n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	nb, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: 65537}
	got, err := thumbprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}

// TestThumbprintPaddedX finds P-256 keys whose X (and separately Y) starts
// with a zero byte and checks that the coordinate is padded to 32 bytes,
// as RFC 7518 requires (distribution 3.x gets this wrong).
func TestThumbprintPaddedX(t *testing.T) {
	t.Parallel()
	for _, coord := range []string{"x", "y"} {
		var priv *ecdsa.PrivateKey
		for i := 0; i < 20000 && priv == nil; i++ {
			p, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			pt, _ := p.PublicKey.Bytes()
			if (coord == "x" && pt[1] == 0) || (coord == "y" && pt[33] == 0) {
				priv = p
			}
		}
		if priv == nil {
			t.Fatalf("no P-256 key with a leading zero in %s found", coord)
		}
		// Independently: the coordinates as fixed 32-byte big-endian.
		pt, _ := priv.PublicKey.Bytes()
		x, y := new(big.Int).SetBytes(pt[1:33]), new(big.Int).SetBytes(pt[33:])
		var xb, yb [32]byte
		x.FillBytes(xb[:])
		y.FillBytes(yb[:])
		in := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`,
			base64.RawURLEncoding.EncodeToString(xb[:]), base64.RawURLEncoding.EncodeToString(yb[:]))
		sum := sha256.Sum256([]byte(in))
		want := base64.RawURLEncoding.EncodeToString(sum[:])

		k, err := newKey("ES256", priv, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.Thumbprint(); got != want {
			t.Errorf("%s with leading zero: thumbprint %s, want %s", coord, got, want)
		}
		// The unpadded (wrong) value must differ, or the test proves nothing.
		bad := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`,
			base64.RawURLEncoding.EncodeToString(x.Bytes()), base64.RawURLEncoding.EncodeToString(y.Bytes()))
		badSum := sha256.Sum256([]byte(bad))
		if base64.RawURLEncoding.EncodeToString(badSum[:]) == want {
			t.Fatal("padded and unpadded inputs agree; the key was not a leading-zero case")
		}
	}
}

// TestThumbprintAgreesWithGoJose cross-checks every key type with go-jose.
func TestThumbprintAgreesWithGoJose(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ES256", "ES384", "ES512", "RS256", "EdDSA"} {
		k := genKey(t, alg)
		jt, err := (&jose.JSONWebKey{Key: k.Public}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if want := base64.RawURLEncoding.EncodeToString(jt); k.Thumbprint() != want {
			t.Errorf("%s: thumbprint %s, go-jose %s", alg, k.Thumbprint(), want)
		}
	}
	if hs := genKey(t, "HS256"); hs.Thumbprint() != "" {
		t.Errorf("HS256 thumbprint %q, want empty", hs.Thumbprint())
	}
}

// TestLibtrustKeyIDSteps computes libtrust ids with the algorithm spelled
// out bit by bit, independent of encoding/base32.
func TestLibtrustKeyIDSteps(t *testing.T) {
	t.Parallel()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	for _, alg := range []string{"ES256", "ES384", "ES512", "RS256", "EdDSA"} {
		k := genKey(t, alg)
		der, err := x509.MarshalPKIXPublicKey(k.Public)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(der)
		// 240 bits = 48 groups of 5 bits.
		var chars []byte
		for i := 0; i < 240; i += 5 {
			v := 0
			for b := i; b < i+5; b++ {
				bit := (sum[b/8] >> (7 - uint(b%8))) & 1
				v = v<<1 | int(bit)
			}
			chars = append(chars, alphabet[v])
		}
		var groups []string
		for i := 0; i < len(chars); i += 4 {
			groups = append(groups, string(chars[i:i+4]))
		}
		want := strings.Join(groups, ":")
		got, err := LibtrustKeyID(k.Public)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: libtrust id %s, want %s", alg, got, want)
		}
		if len(groups) != 12 {
			t.Fatalf("%d groups", len(groups))
		}
		if alg != "EdDSA" && k.KID != want {
			t.Errorf("%s: KID %s, want libtrust id %s", alg, k.KID, want)
		}
		if alg == "EdDSA" && k.KID != k.Thumbprint() {
			t.Errorf("EdDSA: KID %s, want thumbprint %s", k.KID, k.Thumbprint())
		}
	}
}

func TestHMACKIDAndFingerprint(t *testing.T) {
	t.Parallel()
	secret := []byte(strings.Repeat("s", 32))
	k, err := newKey("HS256", secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(secret)
	if want := fmt.Sprintf("hs-%x", sum[:8]); k.KID != want {
		t.Errorf("kid %s, want %s", k.KID, want)
	}
	// Fingerprint is SHA-256 over the secret's SHA-256, as colon hex.
	sum2 := sha256.Sum256(sum[:])
	var parts []string
	for _, c := range sum2 {
		parts = append(parts, fmt.Sprintf("%02X", c))
	}
	if want := strings.Join(parts, ":"); k.Fingerprint() != want {
		t.Errorf("fingerprint %s, want %s", k.Fingerprint(), want)
	}
}
