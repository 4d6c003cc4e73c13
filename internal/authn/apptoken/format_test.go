package apptoken

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
)

func TestGenerateFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		tok, hash, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 54 || !strings.HasPrefix(tok, "pcat_") {
			t.Fatalf("token %q: want pcat_ and 54 characters", tok)
		}
		if !LooksLike(tok) {
			t.Fatalf("generated token %q does not look like a token", tok)
		}
		want := sha256.Sum256([]byte(tok))
		if !bytes.Equal(hash, want[:]) || !bytes.Equal(Hash(tok), hash) {
			t.Fatalf("hash is not SHA-256 of the whole token")
		}
		if seen[tok] {
			t.Fatalf("token repeated: %q", tok)
		}
		seen[tok] = true
	}
}

// known is a fixed token: body of 43 base62 characters and its CRC32
// checksum in base62, computed independently (python3: zlib.crc32).
const known = "pcat_" + "0000000000000000000000000000000000000000001" + "0hnupX"

func TestLooksLike(t *testing.T) {
	good, _, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"generated", good, true},
		{"known vector", known, true},
		{"known vector, other checksum", known[:len(known)-1] + "Y", false},
		{"typo in body", flip(good, 10), false},
		{"typo in checksum", flip(good, len(good)-1), false},
		{"wrong prefix", "pcxt_" + good[5:], false},
		{"upper prefix", "PCAT_" + good[5:], false},
		{"too short", good[:len(good)-1], false},
		{"too long", good + "a", false},
		{"empty", "", false},
		{"prefix only", "pcat_", false},
		{"ordinary password", "correct horse battery staple", false},
		{"non base62", good[:20] + "-" + good[21:], false},
		{"non ascii", good[:20] + "é" + good[22:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLike(tt.in); got != tt.want {
				t.Fatalf("LooksLike(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzLooksLike(f *testing.F) {
	good, _, _ := Generate()
	for _, s := range []string{good, "", "pcat_", "pcat_" + strings.Repeat("0", 49), good[:53] + "!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !LooksLike(s) {
			return
		}
		if len(s) != Len || !strings.HasPrefix(s, Prefix) {
			t.Fatalf("%q accepted with wrong shape", s)
		}
		if checksum(s[len(Prefix):len(Prefix)+bodyLen]) != s[len(Prefix)+bodyLen:] {
			t.Fatalf("%q accepted with a wrong checksum", s)
		}
	})
}
