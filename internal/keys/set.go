package keys

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// Set is the configured keys: one signs, all verify and are published, so
// a new key can sign while tokens from the old one still pass.
type Set struct {
	Signer *Key
	All    []*Key
}

// NewSet builds a set from keys; keys[signer] signs.
func NewSet(keys []*Key, signer int) (*Set, error) {
	if len(keys) == 0 {
		return nil, errors.New("key set: no keys")
	}
	if signer < 0 || signer >= len(keys) {
		return nil, fmt.Errorf("key set: signer index %d out of range (%d keys)", signer, len(keys))
	}
	seen := make(map[string]int, len(keys))
	for i, k := range keys {
		if k == nil {
			return nil, fmt.Errorf("key set: key %d is nil", i)
		}
		if k.KID == "" {
			return nil, fmt.Errorf("key set: key %d has no kid", i)
		}
		if j, dup := seen[k.KID]; dup {
			return nil, fmt.Errorf("key set: keys %d and %d are the same key (kid %s)", j, i, k.KID)
		}
		seen[k.KID] = i
	}
	if keys[signer].Private == nil {
		return nil, fmt.Errorf("key set: signing key %s has no private part", keys[signer].KID)
	}
	return &Set{Signer: keys[signer], All: append([]*Key(nil), keys...)}, nil
}

// byKID finds a key by its kid.
func (s *Set) byKID(kid string) *Key {
	for _, k := range s.All {
		if k.KID == kid {
			return k
		}
	}
	return nil
}

// JWKS is the public JSON Web Key Set: every asymmetric key with its kid,
// alg, use "sig" and, when it has one, its x5c chain. Only public halves
// are written, and HS* secrets never.
func (s *Set) JWKS() ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range s.All {
		if k.Public == nil || k.IsHMAC() {
			continue
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:          k.Public,
			KeyID:        k.KID,
			Algorithm:    k.Alg,
			Use:          "sig",
			Certificates: k.Chain,
		})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("marshal JWKS: %w", err)
	}
	return b, nil
}
