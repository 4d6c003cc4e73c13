package token

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Access is one granted resource in a token's access claim.
type Access struct {
	Type    string   `json:"type"`
	Class   string   `json:"class,omitempty"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// Claims is the registry token's claim set. aud is a single string: the
// 2.x registry refuses an array.
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  string   `json:"aud"`
	Expiry    int64    `json:"exp"`
	NotBefore int64    `json:"nbf"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	Access    []Access `json:"access"`
}

// NewClaims builds the claims of one token. nbf is set a little in the
// past so that a registry whose clock runs slightly behind accepts it.
func NewClaims(issuer, subject, audience string, now time.Time, ttl time.Duration, access []Access) (Claims, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return Claims{}, err
	}
	if access == nil {
		access = []Access{}
	}
	return Claims{
		Issuer:    issuer,
		Subject:   subject,
		Audience:  audience,
		Expiry:    now.Add(ttl).Unix(),
		NotBefore: now.Add(-10 * time.Second).Unix(),
		IssuedAt:  now.Unix(),
		ID:        hex.EncodeToString(jti[:]),
		Access:    access,
	}, nil
}

// Marshal encodes the claims as the JWT payload.
func (c Claims) Marshal() ([]byte, error) { return json.Marshal(c) }

// Response is the token endpoint's JSON answer.
type Response struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
}
