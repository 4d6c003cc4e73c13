package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

// BenchHash is the hash of token number i of a benchmark data set.
func BenchHash(i int) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	h := sha256.Sum256(b[:])
	return h[:]
}

// BenchToken is token number i of a benchmark data set, as the bulk
// loaders of each implementation write it (they bypass CreateAppToken,
// which commits, and so syncs, once per token): a thousand users with
// tokens named by number and one pull scope each.
func BenchToken(i int) store.AppToken {
	return store.AppToken{
		User:      fmt.Sprintf("user%03d", i%1000),
		Name:      fmt.Sprintf("t%d", i),
		Hash:      BenchHash(i),
		Scopes:    []string{"repository:team/app:pull"},
		CreatedAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// LookupScalingTarget is the least share of the small store's lookup rate
// the large store must keep.
const LookupScalingTarget = 0.90

// BenchLookupScaling measures GetAppTokenByHash on a store holding small
// benchmark tokens (numbers 0..small-1, see BenchToken) against one holding
// large, in two sub-benchmarks:
//
//   - uniform: each lookup asks for a token chosen uniformly at random from
//     its whole store, the worst case for the processor's caches (every
//     lookup in the large store touches memory no recent lookup touched);
//   - hot: lookups in both stores ask for one of the same small tokens, as
//     a registry's busy CI jobs reuse a few tokens among many stored: what
//     is left is the cost of the deeper index alone.
//
// Lookups alternate between the two stores one by one, so that a change in
// machine load (other processes on a shared machine) weighs on both alike.
// Each reports nanoseconds per lookup for each store and the ratio of their
// rates (large/small, target LookupScalingTarget or more).
func BenchLookupScaling(b *testing.B, smallStore store.Store, small int, largeStore store.Store, large int) {
	b.Run("uniform", func(b *testing.B) { benchLookupPair(b, smallStore, small, largeStore, large) })
	b.Run("hot", func(b *testing.B) { benchLookupPair(b, smallStore, small, largeStore, small) })
}

// benchLookupPair looks up tokens 0..smallPick-1 in smallStore and
// 0..largePick-1 in largeStore, alternately.
func benchLookupPair(b *testing.B, smallStore store.Store, smallPick int, largeStore store.Store, largePick int) {
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(1, 2))
	lookup := func(s store.Store, n int) time.Duration {
		i := rng.IntN(n)
		h := BenchHash(i)
		start := time.Now()
		t, err := s.GetAppTokenByHash(ctx, h)
		d := time.Since(start)
		if err != nil || t.Name != BenchToken(i).Name {
			b.Fatalf("lookup of token %d: %+v, %v", i, t, err)
		}
		return d
	}
	// Warm both up the same way, so neither pays its first connections
	// and statement preparations inside the measurement.
	for range 1000 {
		lookup(smallStore, smallPick)
		lookup(largeStore, largePick)
	}
	var inSmall, inLarge time.Duration
	for b.Loop() {
		inSmall += lookup(smallStore, smallPick)
		inLarge += lookup(largeStore, largePick)
	}
	nsSmall := float64(inSmall.Nanoseconds()) / float64(b.N)
	nsLarge := float64(inLarge.Nanoseconds()) / float64(b.N)
	ratio := nsSmall / nsLarge
	b.ReportMetric(nsSmall, "ns/lookup-small")
	b.ReportMetric(nsLarge, "ns/lookup-large")
	b.ReportMetric(ratio, "rate_ratio")
	verdict := "meets"
	if ratio < LookupScalingTarget {
		verdict = "BELOW"
	}
	b.Logf("app-token lookups, small store: %.0f/s, large store: %.0f/s, rate ratio %.3f (%s target %.2f)",
		1e9/nsSmall, 1e9/nsLarge, ratio, verdict, LookupScalingTarget)
}
