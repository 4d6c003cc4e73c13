package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// Thumbprint is the key's RFC 7638 JWK thumbprint (SHA-256, base64url
// without padding), or "" for HS* keys, which are never published.
//
// EC coordinates are zero-padded to the curve's size as RFC 7518 6.2.1.2
// requires; distribution 3.x's own thumbprint does not pad, so about one
// P-256 key in 128 gets a different value there (the reason tokens carry
// x5c and the JWKS carries explicit kids).
func (k *Key) Thumbprint() string {
	if k.Public == nil {
		return ""
	}
	t, err := thumbprint(k.Public)
	if err != nil {
		return ""
	}
	return t
}

// thumbprint computes the RFC 7638 thumbprint. The members are written in
// the lexicographic order the RFC prescribes, without whitespace.
func thumbprint(pub crypto.PublicKey) (string, error) {
	var in string
	b64 := base64.RawURLEncoding.EncodeToString
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		// Bytes is the uncompressed point 0x04 || X || Y with both
		// coordinates already padded to the curve's byte length.
		pt, err := p.Bytes()
		if err != nil {
			return "", fmt.Errorf("thumbprint: %w", err)
		}
		n := (len(pt) - 1) / 2
		in = `{"crv":"` + p.Curve.Params().Name + `","kty":"EC","x":"` + b64(pt[1:1+n]) + `","y":"` + b64(pt[1+n:]) + `"}`
	case *rsa.PublicKey:
		e := big.NewInt(int64(p.E)).Bytes()
		in = `{"e":"` + b64(e) + `","kty":"RSA","n":"` + b64(p.N.Bytes()) + `"}`
	case ed25519.PublicKey:
		in = `{"crv":"Ed25519","kty":"OKP","x":"` + b64(p) + `"}`
	default:
		return "", fmt.Errorf("thumbprint: unsupported key type %T", pub)
	}
	sum := sha256.Sum256([]byte(in))
	return b64(sum[:]), nil
}

// LibtrustKeyID is the key id docker/libtrust (and so distribution 2.8)
// gives a public key: the SHA-256 of its PKIX DER encoding, truncated to
// 240 bits, base32-encoded (48 characters, no padding) and split into 12
// groups of 4 joined by ':'.
func LibtrustKeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("libtrust key id: %w", err)
	}
	sum := sha256.Sum256(der)
	s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:30])
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(s[i : i+4])
	}
	return b.String(), nil
}

// Fingerprint is the SHA-256 of the public key's PKIX DER as colon hex
// (for `portcullis keys show`). For HS* keys it is the SHA-256 of the
// secret's SHA-256, so the secret itself never reaches a terminal.
func (k *Key) Fingerprint() string {
	if secret, ok := k.Private.([]byte); ok && k.Public == nil {
		h := sha256.Sum256(secret)
		return CertFingerprint(h[:])
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return ""
	}
	return CertFingerprint(der)
}

// hmacKID names a shared secret without revealing it.
func hmacKID(secret []byte) string {
	sum := sha256.Sum256(secret)
	return "hs-" + hex.EncodeToString(sum[:8])
}
