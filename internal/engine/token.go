package engine

import (
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"strings"
)

// TokenPrefix starts every generated token so that secret scanners (and
// people) recognise one when it leaks.
const TokenPrefix = "pce_"

// tokenBodyLen is the base62 length of 256 random bits.
const tokenBodyLen = 43

// maxTokenLen bounds what the gateway reads as a token (the SOAJS
// token is 1024 hex characters).
const maxTokenLen = 4096

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewToken returns a fresh token: TokenPrefix and 256 random bits in
// base62.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	n := new(big.Int).SetBytes(b[:])
	out := make([]byte, tokenBodyLen)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := tokenBodyLen - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62[mod.Int64()]
	}
	return TokenPrefix + string(out), nil
}

// HashToken is what the store keeps of a token: its SHA-256.
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// LooksLikeToken reports whether s has the generated tokens' shape.
func LooksLikeToken(s string) bool {
	if !strings.HasPrefix(s, TokenPrefix) || len(s) != len(TokenPrefix)+tokenBodyLen {
		return false
	}
	for _, c := range s[len(TokenPrefix):] {
		if !strings.ContainsRune(base62, c) {
			return false
		}
	}
	return true
}
