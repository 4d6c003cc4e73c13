package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key is one token signing key. Build it with Generate, Load or Ensure,
// and treat it as read-only afterwards: the encoded header is cached on
// first use. Always pass it by pointer.
type Key struct {
	// Alg is ES256 ES384 ES512 RS256 RS384 RS512 EdDSA HS256 HS384 HS512.
	Alg string
	// KID is the libtrust fingerprint for EC and RSA keys (what
	// distribution 2.8 looks keys up by), the RFC 7638 thumbprint for
	// Ed25519 (which libtrust never supported), and for HS* "hs-" followed
	// by the first 16 hex digits of the SHA-256 of the secret.
	KID string
	// Private is *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey,
	// or []byte for HS*.
	Private any
	// Public is nil for HS*.
	Public crypto.PublicKey
	// Chain is the certificate chain, leaf first; it may be empty.
	Chain []*x509.Certificate

	// The encoded header is computed once: SignCompact is the token
	// server's hot path.
	hdrOnce sync.Once
	hdrEnc  string
	hdrErr  error
}

// newKey fills in the KID and checks that the parts fit together.
func newKey(alg string, priv any, chain []*x509.Certificate) (*Key, error) {
	info, err := algorithm(alg)
	if err != nil {
		return nil, err
	}
	k := &Key{Alg: alg, Private: priv, Chain: chain}
	if info.family == famHMAC {
		secret, ok := priv.([]byte)
		if !ok {
			return nil, fmt.Errorf("%s needs a shared secret, got %T", alg, priv)
		}
		if len(secret) < info.size {
			return nil, fmt.Errorf("%s needs a secret of at least %d bytes, got %d", alg, info.size, len(secret))
		}
		if len(chain) > 0 {
			return nil, fmt.Errorf("%s keys have no certificate", alg)
		}
		k.KID = hmacKID(secret)
		return k, nil
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", priv)
	}
	k.Public = signer.Public()
	if err := checkKeyFits(alg, k.Public); err != nil {
		return nil, err
	}
	if len(chain) > 0 {
		if !publicKeysEqual(chain[0].PublicKey, k.Public) {
			return nil, fmt.Errorf("the certificate (subject %q) is for a different key than the private key (certificate holds %s, private key is %s)",
				chain[0].Subject.String(), describeKey(chain[0].PublicKey), describeKey(k.Public))
		}
	}
	if info.family == famEd25519 {
		k.KID, err = thumbprint(k.Public)
	} else {
		k.KID, err = LibtrustKeyID(k.Public)
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// publicKeysEqual compares two public keys of any supported type.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface {
		Equal(crypto.PublicKey) bool
	}
	switch a.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
		return a.(equaler).Equal(b)
	}
	return false
}

// Method is the jwt signing method for Alg.
func (k *Key) Method() jwt.SigningMethod {
	info, err := algorithm(k.Alg)
	if err != nil {
		return nil
	}
	return info.method
}

// IsHMAC reports whether the key is a shared secret.
func (k *Key) IsHMAC() bool { return IsHMAC(k.Alg) }

// NotAfter is the leaf certificate's expiry, or the zero time without a
// certificate. A registry verifying the x5c chain refuses tokens once it
// has passed.
func (k *Key) NotAfter() time.Time {
	if len(k.Chain) == 0 {
		return time.Time{}
	}
	return k.Chain[0].NotAfter
}

// errNoPrivate is returned when signing with a public-only key.
var errNoPrivate = errors.New("key has no private part")

// WithoutChain returns a copy of k with no certificate chain, so its
// tokens carry only a kid (for registries that trust a JWKS and no bundle).
func (k *Key) WithoutChain() *Key {
	return &Key{Alg: k.Alg, KID: k.KID, Private: k.Private, Public: k.Public}
}
