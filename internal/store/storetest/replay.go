package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

func claim(t *testing.T, s store.Store, key string, exp time.Time) bool {
	t.Helper()
	ok, err := s.ClaimOnce(ctx(t), key, exp)
	mustNil(t, err)
	return ok
}

var replayCases = []testCase{
	{"ClaimOnce", func(t *testing.T, s store.Store, clk *Clock) {
		exp := clk.Now().Add(time.Minute)
		if !claim(t, s, "sig-1", exp) {
			t.Fatal("first claim refused")
		}
		if claim(t, s, "sig-1", exp) {
			t.Fatal("second claim accepted")
		}
		if !claim(t, s, "sig-2", exp) {
			t.Fatal("other key refused")
		}
		// Keys are exact.
		if !claim(t, s, "SIG-1", exp) {
			t.Fatal("key compared without case")
		}
		clk.Advance(59 * time.Second)
		if claim(t, s, "sig-1", exp) {
			t.Fatal("claim accepted before expiry")
		}
		clk.Advance(time.Second)
		// Expiry is inclusive: at exp the record no longer counts.
		if !claim(t, s, "sig-1", clk.Now().Add(time.Minute)) {
			t.Fatal("claim refused after expiry")
		}
		if claim(t, s, "sig-1", clk.Now().Add(time.Minute)) {
			t.Fatal("re-claimed key accepted twice")
		}
		if _, err := s.ClaimOnce(ctx(t), "", exp); err == nil {
			t.Error("empty key accepted")
		}
		if _, err := s.ClaimOnce(ctx(t), strings.Repeat("k", 100_000), exp); err == nil {
			t.Error("oversized key accepted")
		}
	}},
	{"PurgeExpired", func(t *testing.T, s store.Store, clk *Clock) {
		c := ctx(t)
		mustNil(t, s.PurgeExpired(c))
		claim(t, s, "short", clk.Now().Add(time.Second))
		claim(t, s, "long", clk.Now().Add(time.Hour))
		clk.Advance(time.Minute)
		mustNil(t, s.PurgeExpired(c))
		if claim(t, s, "long", clk.Now().Add(time.Hour)) {
			t.Error("PurgeExpired forgot an unexpired key")
		}
		if !claim(t, s, "short", clk.Now().Add(time.Hour)) {
			t.Error("expired key still claimed")
		}
	}},
}
