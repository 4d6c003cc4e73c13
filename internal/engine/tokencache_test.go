package engine

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

func TestTokenCache(t *testing.T) {
	c := newTokenCache(time.Second)
	h := HashToken("a")
	t0 := time.Unix(1700000000, 0)
	if _, ok := c.get(h, t0); ok {
		t.Fatal("hit in an empty cache")
	}
	c.put(h, store.EngineToken{Name: "a", Policy: "full"}, t0)
	if got, ok := c.get(h, t0.Add(999*time.Millisecond)); !ok || got.Name != "a" {
		t.Fatalf("miss within the TTL: %+v %v", got, ok)
	}
	if _, ok := c.get(h, t0.Add(time.Second)); ok {
		t.Fatal("hit at the TTL")
	}
	if _, ok := c.get(h, t0.Add(-time.Second)); ok {
		t.Fatal("hit with the clock moved back")
	}
	if _, ok := c.get(HashToken("b"), t0); ok {
		t.Fatal("hit for another token")
	}
	for i := range maxCachedTokens + 1 {
		c.put(HashToken(string(rune(i))+"x"), store.EngineToken{}, t0)
	}
	if len(c.m) > maxCachedTokens {
		t.Fatalf("cache holds %d entries", len(c.m))
	}
	var off *tokenCache = newTokenCache(-1)
	off.put(h, store.EngineToken{}, t0)
	if _, ok := off.get(h, t0); ok {
		t.Fatal("a disabled cache answered")
	}
}
