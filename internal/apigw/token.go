package apigw

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Token is a bearer token split and decoded but not yet verified:
// H.P.S where S is an HMAC-SHA256 of the raw received bytes H.P.
//
// Every format cyphernode's clients make is accepted (see
// docs/apigw.md): H and P as unpadded base64url or padded standard
// base64, JSON with spaces or a trailing newline, S as unpadded base64url
// or lowercase hex, computed over H.P or over H.P plus a newline.
type Token struct {
	// ID is the key id from the payload.
	ID string
	// Exp is the payload's exp (Unix seconds).
	Exp int64
	// signed is the raw H.P the HMAC covers.
	signed string
	// mac is the decoded signature (32 bytes).
	mac []byte
}

// Replay key: the key id and the decoded MAC, so that a signature
// re-encoded from hex to base64url is still the same token.
func (t *Token) replayKey() string {
	const prefix = "apigw:"
	var buf [2 * macLen]byte
	mac := hex.AppendEncode(buf[:0], t.mac)
	var b strings.Builder
	b.Grow(len(prefix) + len(t.ID) + 1 + len(mac))
	b.WriteString(prefix)
	b.WriteString(t.ID)
	b.WriteByte(':')
	b.Write(mac)
	return b.String()
}

const (
	macLen    = sha256.Size
	maxIDLen  = 64
	expDigits = 12 // Unix seconds up to year 33658: anything longer is garbage
)

// ParseAuthorization takes an Authorization header value ("Bearer
// H.P.S"), refusing values longer than maxBytes before looking at them.
func ParseAuthorization(value string, maxBytes int) (*Token, error) {
	if value == "" {
		return nil, authErr(ReasonMalformed, "missing Authorization: Bearer token")
	}
	if len(value) > maxBytes+len("Bearer ") {
		return nil, authErr(ReasonMalformed, "Authorization header too long")
	}
	scheme, tok, ok := strings.Cut(value, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, authErr(ReasonMalformed, "Authorization must be a Bearer token")
	}
	return ParseToken(strings.TrimSpace(tok))
}

// ParseToken splits and decodes H.P.S. It computes no HMAC.
func ParseToken(tok string) (*Token, error) {
	h, rest, ok1 := strings.Cut(tok, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || h == "" || p == "" || s == "" || strings.Contains(s, ".") {
		return nil, authErr(ReasonMalformed, "token must be three dot-separated parts H.P.S")
	}
	if err := checkHeader(h); err != nil {
		return nil, err
	}
	pj, err := decodeSegment(p)
	if err != nil {
		return nil, authErr(ReasonMalformed, "payload is not base64")
	}
	id, exp, err := parsePayload(pj)
	if err != nil {
		return nil, err
	}
	mac, err := decodeSignature(s)
	if err != nil {
		return nil, err
	}
	return &Token{ID: id, Exp: exp, signed: tok[:len(h)+1+len(p)], mac: mac}, nil
}

// checkHeader refuses a header that decodes to anything but a JSON object
// with alg HS256. cyphernode never read the header, so one that is not
// base64 at all is left to the signature, which covers it.
func checkHeader(h string) error {
	if _, ok := goodHeaders.Load(h); ok {
		return nil
	}
	hj, err := decodeSegment(h)
	if err != nil {
		return nil
	}
	var hdr struct {
		Alg *string `json:"alg"`
	}
	if err := json.Unmarshal(hj, &hdr); err != nil {
		return authErr(ReasonMalformed, "token header is not a JSON object")
	}
	if hdr.Alg == nil || *hdr.Alg != "HS256" {
		return authErr(ReasonMalformed, "token header alg must be HS256")
	}
	if goodHeaderCount.Add(1) <= maxGoodHeaders {
		goodHeaders.Store(h, struct{}{})
	}
	return nil
}

// goodHeaders remembers a few header segments already found valid: clients
// send the same one on every request, and decoding it is a fair part of
// the check. Bounded, so garbage cannot grow it.
var (
	goodHeaders     sync.Map
	goodHeaderCount atomic.Int32
)

const maxGoodHeaders = 64

// decodeSegment decodes unpadded base64url or (padded or not) standard
// base64, canonical encodings only.
func decodeSegment(s string) ([]byte, error) {
	raw := strings.TrimSuffix(strings.TrimSuffix(s, "="), "=")
	if len(raw) != len(s) && len(s)%4 != 0 {
		return nil, fmt.Errorf("bad base64 padding")
	}
	if strings.ContainsAny(raw, "-_") {
		return base64.RawURLEncoding.Strict().DecodeString(raw)
	}
	// Without - or _ the two alphabets agree on every character.
	return base64.RawStdEncoding.Strict().DecodeString(raw)
}

func parsePayload(pj []byte) (id string, exp int64, err error) {
	if id, exp, ok := canonicalPayload(pj); ok {
		return id, exp, nil
	}
	return parsePayloadJSON(pj)
}

// parsePayloadJSON reads any payload encoding/json can.
func parsePayloadJSON(pj []byte) (id string, exp int64, err error) {
	var pl struct {
		ID  *string         `json:"id"`
		Exp json.RawMessage `json:"exp"`
	}
	if err := json.Unmarshal(pj, &pl); err != nil {
		return "", 0, authErr(ReasonMalformed, "token payload is not a JSON object")
	}
	if pl.ID == nil || !validKeyID(*pl.ID) {
		return "", 0, authErr(ReasonMalformed, "token payload needs an id of letters, digits, - and _")
	}
	e := bytes.TrimSpace(pl.Exp)
	if len(e) == 0 || string(e) == "null" {
		return "", 0, authErr(ReasonMalformed, "token payload needs exp")
	}
	if len(e) > expDigits || bytes.IndexFunc(e, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return "", 0, authErr(ReasonMalformed, "token exp must be whole Unix seconds")
	}
	exp, err = strconv.ParseInt(string(e), 10, 64)
	if err != nil {
		return "", 0, authErr(ReasonMalformed, "token exp must be whole Unix seconds")
	}
	return *pl.ID, exp, nil
}

// validKeyID reports whether id is a usable key id: 1 to 64 letters,
// digits, '-' or '_'.
func validKeyID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ValidKeyID reports whether id can name a key.
func ValidKeyID(id string) bool { return validKeyID(id) }

// decodeSignature takes 43 characters of unpadded base64url or 64 of
// lowercase hex.
func decodeSignature(s string) ([]byte, error) {
	switch len(s) {
	case 43:
		mac, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err == nil && len(mac) == macLen {
			return mac, nil
		}
	case 64:
		if strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') }) < 0 {
			mac, err := hex.DecodeString(s)
			if err == nil {
				return mac, nil
			}
		}
	}
	return nil, authErr(ReasonMalformed, "signature must be 43 characters of base64url or 64 of lowercase hex")
}

// Verifier checks parsed tokens.
type Verifier struct {
	// Skew is the grace after exp.
	Skew time.Duration
	// MaxLifetime refuses exp further ahead than this (plus Skew); 0 is
	// no cap.
	MaxLifetime time.Duration
	// Newline also accepts an HMAC over H.P followed by "\n".
	Newline bool
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Verify checks t's signature with secret (the key's hex string, used as
// ASCII bytes), then exp. It returns an *AuthError.
func (v *Verifier) Verify(t *Token, secret []byte) error {
	return v.verify(t, hmac.New(sha256.New, secret))
}

// VerifyKey is Verify with k's secret, reusing k's keyed HMAC states.
func (v *Verifier) VerifyKey(t *Token, k *Key) error {
	if k.macs == nil {
		return v.Verify(t, k.Secret)
	}
	m := k.macs.Get().(hash.Hash)
	m.Reset()
	err := v.verify(t, m)
	k.macs.Put(m)
	return err
}

func (v *Verifier) verify(t *Token, m hash.Hash) error {
	if !v.signatureOK(t, m) {
		return authErr(ReasonBadSignature, "signature does not match")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	n := now()
	exp := time.Unix(t.Exp, 0)
	if !n.Before(exp.Add(v.Skew)) {
		return authErr(ReasonExpired, "token expired")
	}
	if v.MaxLifetime > 0 && exp.Sub(n) > v.MaxLifetime+v.Skew {
		return authErr(ReasonTooLongLived, fmt.Sprintf("token exp is %s ahead; at most %s is accepted", exp.Sub(n).Truncate(time.Second), v.MaxLifetime))
	}
	return nil
}

// signatureOK checks the MAC with m, a fresh HMAC-SHA256 keyed with the
// secret.
func (v *Verifier) signatureOK(t *Token, m hash.Hash) bool {
	m.Write([]byte(t.signed))
	var buf [macLen]byte
	if hmac.Equal(m.Sum(buf[:0]), t.mac) {
		return true
	}
	if !v.Newline {
		return false
	}
	m.Reset()
	m.Write([]byte(t.signed))
	m.Write([]byte{'\n'})
	return hmac.Equal(m.Sum(buf[:0]), t.mac)
}

// expires is when the token stops being accepted, hence how long its
// signature must be remembered.
func (v *Verifier) expires(t *Token) time.Time { return time.Unix(t.Exp, 0).Add(v.Skew) }

// headerB64URL is base64url of {"alg":"HS256","typ":"JWT"}.
const headerB64URL = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

// Sign makes a token in the current cyphernode format (base64url H, P
// and S, HMAC over H.P) for key id and secret, valid until exp. The
// payload carries a random jti besides id and exp, so that two tokens
// made in the same second differ: the gateway accepts each token once.
func Sign(id, secret string, exp time.Time) string {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	p := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"id":%q,"exp":%d,"jti":"%x"}`, id, exp.Unix(), nonce))
	signed := headerB64URL + "." + p
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
