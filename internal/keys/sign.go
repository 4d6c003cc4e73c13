package keys

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// jwtHeader is the JOSE header of every token, in a fixed member order.
type jwtHeader struct {
	Typ string   `json:"typ"`
	Alg string   `json:"alg"`
	KID string   `json:"kid"`
	X5C []string `json:"x5c,omitempty"`
}

func (k *Key) header() jwtHeader {
	h := jwtHeader{Typ: "JWT", Alg: k.Alg, KID: k.KID}
	for _, c := range k.Chain {
		// RFC 7515 4.1.6: standard base64 (with padding) of the DER.
		h.X5C = append(h.X5C, base64.StdEncoding.EncodeToString(c.Raw))
	}
	return h
}

// Header is the JOSE header SignCompact uses: typ, alg, kid and, when the
// key has a certificate chain, x5c. Distribution 2.8 finds the key by the
// libtrust kid or the x5c chain, 3.x by the chain or a JWKS kid, so one
// token passes both. The map is a fresh copy.
func (k *Key) Header() map[string]any {
	h := k.header()
	m := map[string]any{"typ": h.Typ, "alg": h.Alg, "kid": h.KID}
	if len(h.X5C) > 0 {
		m["x5c"] = h.X5C
	}
	return m
}

// encodedHeader is the base64url header, computed once per key.
func (k *Key) encodedHeader() (string, error) {
	k.hdrOnce.Do(func() {
		b, err := json.Marshal(k.header())
		if err != nil {
			k.hdrErr = fmt.Errorf("encode JWT header: %w", err)
			return
		}
		k.hdrEnc = base64.RawURLEncoding.EncodeToString(b)
	})
	return k.hdrEnc, k.hdrErr
}

// sigSize is the length of the key's signatures in bytes.
func (k *Key) sigSize() int {
	info, err := algorithm(k.Alg)
	if err != nil {
		return 0
	}
	if info.family == famRSA {
		if p, ok := k.Public.(*rsa.PublicKey); ok {
			return p.Size()
		}
	}
	return info.size
}

// SignCompact signs payload (the claims JSON) and returns the compact
// serialisation header.payload.signature. The token is written into one
// buffer sized exactly up front; the signing input is a prefix of it.
func (k *Key) SignCompact(payload []byte) (string, error) {
	if k.Private == nil {
		return "", errNoPrivate
	}
	m := k.Method()
	if m == nil {
		return "", fmt.Errorf("sign: unsupported algorithm %q", k.Alg)
	}
	hdr, err := k.encodedHeader()
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	var b strings.Builder
	b.Grow(len(hdr) + 1 + enc.EncodedLen(len(payload)) + 1 + enc.EncodedLen(k.sigSize()))
	b.WriteString(hdr)
	b.WriteByte('.')
	writeB64(&b, payload)
	// A Builder only ever appends, so this string stays valid while the
	// signature is added after it.
	signingInput := b.String()
	sig, err := m.Sign(signingInput, k.Private)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", k.Alg, err)
	}
	b.WriteByte('.')
	writeB64(&b, sig)
	return b.String(), nil
}

// writeB64 appends the base64url encoding of src to b through a small
// stack buffer, in chunks whose length is a multiple of 3 so no padding
// can appear in the middle.
func writeB64(b *strings.Builder, src []byte) {
	var buf [256]byte
	const chunk = 192 // 192 bytes encode to exactly 256 characters
	for len(src) > 0 {
		n := min(len(src), chunk)
		enc := base64.RawURLEncoding.EncodedLen(n)
		base64.RawURLEncoding.Encode(buf[:enc], src[:n])
		b.Write(buf[:enc])
		src = src[n:]
	}
}
