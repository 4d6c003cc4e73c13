package keys

import (
	"errors"
	"fmt"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenSize bounds what Verify parses: a header of many dots once made
// JOSE parsers allocate without limit.
const MaxTokenSize = 64 << 10

// Verification errors; test with errors.Is.
var (
	ErrTokenTooLarge = errors.New("token too large")
	ErrUnknownKey    = errors.New("token signed by an unknown key")
	ErrAlgorithm     = errors.New("token algorithm not allowed")
)

// Verify checks token's signature and then its claims, decoding them into
// claims. allowedAlgs is the explicit allow-list (it must not be empty,
// and "none" is never accepted). The key is the one in s.All whose KID
// equals the header's kid, and the header's alg must be that key's own
// algorithm, so an RSA public key can never be used as an HMAC secret.
// Key material carried by the token itself (jwk, jku, x5u, x5c) is never
// trusted.
func (s *Set) Verify(token string, allowedAlgs []string, claims jwt.Claims) error {
	if len(token) > MaxTokenSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTokenTooLarge, len(token), MaxTokenSize)
	}
	if len(allowedAlgs) == 0 {
		return fmt.Errorf("%w: empty allow-list", ErrAlgorithm)
	}
	for _, a := range allowedAlgs {
		if _, err := algorithm(a); err != nil {
			return fmt.Errorf("%w: %q cannot be allowed", ErrAlgorithm, a)
		}
	}
	p := jwt.NewParser(jwt.WithValidMethods(allowedAlgs))
	_, err := p.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		alg, _ := t.Header["alg"].(string)
		if !slices.Contains(allowedAlgs, alg) {
			return nil, fmt.Errorf("%w: %q", ErrAlgorithm, alg)
		}
		kid, ok := t.Header["kid"].(string)
		if !ok || kid == "" {
			return nil, fmt.Errorf("%w: no kid in header", ErrUnknownKey)
		}
		k := s.byKID(kid)
		if k == nil {
			return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
		}
		if k.Alg != alg {
			return nil, fmt.Errorf("%w: key %s is %s, token says %q", ErrAlgorithm, kid, k.Alg, alg)
		}
		if k.IsHMAC() {
			return k.Private, nil
		}
		return k.Public, nil
	})
	if err != nil {
		return fmt.Errorf("verify token: %w", err)
	}
	return nil
}
