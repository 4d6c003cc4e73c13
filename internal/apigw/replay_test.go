package apigw

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"testing"
	"time"
)

func testToken(t testing.TB, mac []byte) *Token {
	t.Helper()
	if mac == nil {
		mac = make([]byte, macLen)
		_, _ = rand.Read(mac)
	}
	return &Token{ID: "001", mac: mac}
}

func TestMemoryReplay(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	r := newMemoryReplay(1000, func() time.Time { return now })
	a := testToken(t, nil)
	claim := func(tok *Token, exp time.Time) bool {
		t.Helper()
		ok, err := r.claim(ctx, tok, exp)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(a, now.Add(time.Minute)) {
		t.Fatal("first use refused")
	}
	if claim(a, now.Add(time.Minute)) {
		t.Fatal("second use accepted")
	}
	// Another token object with the same MAC (the signature re-encoded).
	if claim(testToken(t, append([]byte(nil), a.mac...)), now.Add(time.Minute)) {
		t.Fatal("same MAC from another token value accepted")
	}
	if !claim(testToken(t, nil), now.Add(time.Minute)) {
		t.Fatal("a different token refused")
	}
	// Once expired, the entry no longer counts (the verifier refuses the
	// token itself by then; the cache must not grow for ever).
	now = now.Add(time.Minute)
	if !claim(a, now.Add(time.Minute)) {
		t.Fatal("entry outlived its expiry")
	}
	if err := r.purge(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.claim(ctx, &Token{mac: []byte("short")}, now); err == nil {
		t.Fatal("a MAC that is not 32 bytes was accepted")
	}
}

func TestMemoryReplayFull(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	r := newMemoryReplay(1000, func() time.Time { return now })
	var full int
	for range 5000 {
		_, err := r.claim(ctx, testToken(t, nil), now.Add(time.Minute))
		if errors.Is(err, errReplayFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if full == 0 {
		t.Fatal("5000 live entries in a cache of 1000 and never full")
	}
	// After expiry the shards sweep and take new tokens again.
	now = now.Add(2 * time.Minute)
	for range 64 {
		if _, err := r.claim(ctx, testToken(t, nil), now.Add(time.Minute)); err != nil {
			t.Fatalf("after expiry: %v", err)
		}
	}
}

// BenchmarkGCWithFullReplayCache is the cost of one garbage collection
// while the in-memory replay cache holds a million live tokens (a minute
// of tokens at ~17,000 requests/s): the cache's entries hold no pointers,
// so the collector skips them.
func BenchmarkGCWithFullReplayCache(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := newMemoryReplay(2_000_000, func() time.Time { return now })
	for range 1_000_000 {
		if _, err := r.claim(ctx, testToken(b, nil), now.Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
	}
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/1e6, "heap-B/entry")
	runtime.KeepAlive(r)
}
