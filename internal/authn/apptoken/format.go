package apptoken

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"math/big"
	"strings"
)

const (
	// Prefix starts every app token.
	Prefix = "pcat_"
	// secretBytes of randomness: 256 bits.
	secretBytes = 32
	// bodyLen is the base62 length of 32 bytes: 62^43 > 2^256.
	bodyLen = 43
	// checksumLen is the base62 length of a CRC32: 62^6 > 2^32.
	checksumLen = 6
	// Len is the length of every app token.
	Len = len(Prefix) + bodyLen + checksumLen
)

// Generate makes a new token and the hash to store.
func Generate() (token string, hash []byte, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("generate app token: %w", err)
	}
	body := base62(new(big.Int).SetBytes(b), bodyLen)
	token = Prefix + body + checksum(body)
	return token, Hash(token), nil
}

// Hash is what the store keeps of a token: SHA-256 of the whole string. A
// token has 256 bits of entropy, so a fast hash is enough (no bcrypt,
// which made Portus slow).
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// LooksLike reports whether s has the form of an app token with a valid
// checksum. It is cheap and does not touch the store.
func LooksLike(s string) bool {
	if len(s) != Len || !strings.HasPrefix(s, Prefix) {
		return false
	}
	rest := s[len(Prefix):]
	for i := 0; i < len(rest); i++ {
		if !isBase62(rest[i]) {
			return false
		}
	}
	body, sum := rest[:bodyLen], rest[bodyLen:]
	return sum == checksum(body)
}

func checksum(body string) string {
	return base62(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(body)))), checksumLen)
}

// base62 writes n with digits 0-9a-zA-Z, left-padded with '0' to width.
func base62(n *big.Int, width int) string {
	s := n.Text(62)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
