package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms lists every algorithm a Key can have, in the order the CLI
// shows them.
var Algorithms = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "EdDSA", "HS256", "HS384", "HS512"}

// family is the key type an algorithm needs.
type family int

const (
	famEC family = iota + 1
	famRSA
	famEd25519
	famHMAC
)

// algInfo describes one algorithm.
type algInfo struct {
	family family
	method jwt.SigningMethod
	// curve is the required curve (EC only).
	curve elliptic.Curve
	// size is the signature length in bytes (EC, EdDSA, HMAC) and, for
	// HMAC, also the minimum and generated secret length (RFC 7518 3.2:
	// a key at least as long as the hash output).
	size int
}

func algorithm(alg string) (algInfo, error) {
	switch alg {
	case "ES256":
		return algInfo{famEC, jwt.SigningMethodES256, elliptic.P256(), 64}, nil
	case "ES384":
		return algInfo{famEC, jwt.SigningMethodES384, elliptic.P384(), 96}, nil
	case "ES512":
		return algInfo{famEC, jwt.SigningMethodES512, elliptic.P521(), 132}, nil
	case "RS256":
		return algInfo{famRSA, jwt.SigningMethodRS256, nil, 0}, nil
	case "RS384":
		return algInfo{famRSA, jwt.SigningMethodRS384, nil, 0}, nil
	case "RS512":
		return algInfo{famRSA, jwt.SigningMethodRS512, nil, 0}, nil
	case "EdDSA":
		return algInfo{famEd25519, jwt.SigningMethodEdDSA, nil, ed25519.SignatureSize}, nil
	case "HS256":
		return algInfo{famHMAC, jwt.SigningMethodHS256, nil, 32}, nil
	case "HS384":
		return algInfo{famHMAC, jwt.SigningMethodHS384, nil, 48}, nil
	case "HS512":
		return algInfo{famHMAC, jwt.SigningMethodHS512, nil, 64}, nil
	}
	return algInfo{}, fmt.Errorf("unsupported algorithm %q (use one of %s)", alg, strings.Join(Algorithms, ", "))
}

// IsHMAC reports whether alg is a shared-secret algorithm (HS256/384/512).
func IsHMAC(alg string) bool {
	info, err := algorithm(alg)
	return err == nil && info.family == famHMAC
}

// Minimum and maximum RSA modulus sizes accepted and generated.
const (
	MinRSABits     = 2048
	MaxRSABits     = 8192
	DefaultRSABits = 3072
)

// checkKeyFits reports whether the public key is of the type and size alg
// needs, with an error that says what was found.
func checkKeyFits(alg string, pub crypto.PublicKey) error {
	info, err := algorithm(alg)
	if err != nil {
		return err
	}
	switch info.family {
	case famEC:
		p, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%s needs an ECDSA %s key, got %s", alg, info.curve.Params().Name, describeKey(pub))
		}
		if p.Curve != info.curve {
			return fmt.Errorf("%s needs an ECDSA %s key, got %s", alg, info.curve.Params().Name, describeKey(pub))
		}
	case famRSA:
		p, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%s needs an RSA key, got %s", alg, describeKey(pub))
		}
		if bits := p.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return fmt.Errorf("%s needs an RSA key of %d to %d bits, got %d bits", alg, MinRSABits, MaxRSABits, bits)
		}
	case famEd25519:
		if _, ok := pub.(ed25519.PublicKey); !ok {
			return fmt.Errorf("EdDSA needs an Ed25519 key, got %s", describeKey(pub))
		}
	case famHMAC:
		return fmt.Errorf("%s takes a shared secret, not a %s", alg, describeKey(pub))
	}
	return nil
}

// describeKey names a key's type for error messages.
func describeKey(pub crypto.PublicKey) string {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + p.Curve.Params().Name + " key"
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d-bit key", p.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519 key"
	case nil:
		return "no key"
	default:
		return fmt.Sprintf("%T", pub)
	}
}

// defaultAlg picks the algorithm for a key when none was given.
func defaultAlg(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
	case *rsa.PublicKey:
		return "RS256", nil
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("unsupported key type: %s", describeKey(pub))
}
