package keys

import (
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestSignCompactAllocations keeps the token server's hot path lean: the
// header is encoded once, and the token is built in one buffer.
func TestSignCompactAllocations(t *testing.T) {
	k := genKey(t, "HS256")
	payload := claimsJSON(t)
	if _, err := k.SignCompact(payload); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := k.SignCompact(payload); err != nil {
			t.Fatal(err)
		}
	})
	// One token buffer plus what the HMAC primitive itself allocates.
	if allocs > 8 {
		t.Errorf("SignCompact made %.0f allocations, want at most 8", allocs)
	}
}

// TestSignCompactLongPayload crosses the chunk size of the base64 writer.
func TestSignCompactLongPayload(t *testing.T) {
	t.Parallel()
	k := genKey(t, "ES256")
	set, _ := NewSet([]*Key{k}, 0)
	for _, n := range []int{0, 1, 191, 192, 193, 385, 4000} {
		payload := []byte(`{"sub":"` + strings.Repeat("a", n) + `"}`)
		tok, err := k.SignCompact(payload)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(tok, ".") != 2 || strings.Contains(tok, "=") {
			t.Fatalf("n=%d: malformed %q", n, tok)
		}
		if err := set.Verify(tok, []string{"ES256"}, &jwt.MapClaims{}); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
}

func BenchmarkSignCompact(b *testing.B) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256", "HS256"} {
		b.Run(alg, func(b *testing.B) {
			k := genKey(b, alg)
			payload := claimsJSON(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.SignCompact(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSignCompactConcurrent signs from many goroutines with a key whose
// header has not been encoded yet (run with -race).
func TestSignCompactConcurrent(t *testing.T) {
	t.Parallel()
	k := genKey(t, "EdDSA")
	set, _ := NewSet([]*Key{k}, 0)
	payload := claimsJSON(t)
	errs := make(chan error, 8*20)
	for range 8 {
		go func() {
			for range 20 {
				tok, err := k.SignCompact(payload)
				if err == nil {
					err = set.Verify(tok, []string{"EdDSA"}, &jwt.RegisteredClaims{})
				}
				errs <- err
			}
		}()
	}
	for range 8 * 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
