package token

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
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

// Marshal encodes the claims as the JWT payload. It writes the JSON by
// hand because it runs on every token request; the output is what
// encoding/json produces for the struct (a test checks).
func (c Claims) Marshal() ([]byte, error) {
	b := make([]byte, 0, 192+len(c.Access)*96)
	b = append(b, `{"iss":`...)
	b = appendString(b, c.Issuer)
	b = append(b, `,"sub":`...)
	b = appendString(b, c.Subject)
	b = append(b, `,"aud":`...)
	b = appendString(b, c.Audience)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Expiry, 10)
	b = append(b, `,"nbf":`...)
	b = strconv.AppendInt(b, c.NotBefore, 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt, 10)
	b = append(b, `,"jti":`...)
	b = appendString(b, c.ID)
	b = append(b, `,"access":[`...)
	for i, a := range c.Access {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":`...)
		b = appendString(b, a.Type)
		if a.Class != "" {
			b = append(b, `,"class":`...)
			b = appendString(b, a.Class)
		}
		b = append(b, `,"name":`...)
		b = appendString(b, a.Name)
		b = append(b, `,"actions":`...)
		if a.Actions == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, act := range a.Actions {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, act)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if c.Access == nil {
		// encoding/json writes a nil slice as null; NewClaims never
		// leaves it nil, so this only keeps the two encoders equal.
		b = append(b[:len(b)-1], "null"...)
	} else {
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// AppendJSON appends the response as encoding/json would write it with
// an Encoder (trailing newline included).
func (r Response) AppendJSON(b []byte) []byte {
	b = append(b, `{"token":`...)
	b = appendString(b, r.Token)
	b = append(b, `,"access_token":`...)
	b = appendString(b, r.AccessToken)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, int64(r.ExpiresIn), 10)
	b = append(b, `,"issued_at":`...)
	b = appendString(b, r.IssuedAt)
	if r.RefreshToken != "" {
		b = append(b, `,"refresh_token":`...)
		b = appendString(b, r.RefreshToken)
	}
	return append(b, "}\n"...)
}

// appendString appends s as a JSON string. Plain printable ASCII (all
// that tokens, times and usual names hold) is copied as is; anything else
// goes through encoding/json so escaping stays exactly standard.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Response is the token endpoint's JSON answer.
type Response struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
}
