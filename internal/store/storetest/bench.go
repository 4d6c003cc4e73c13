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
// large. Lookups alternate between the two stores one by one, so that a
// change in machine load (other processes on a shared machine) weighs on
// both alike; each lookup asks for a token chosen uniformly at random from
// its whole store, the worst case for caches. It reports nanoseconds per
// lookup for each store and the ratio of their rates (large/small, target
// LookupScalingTarget or more).
func BenchLookupScaling(b *testing.B, smallStore store.Store, small int, largeStore store.Store, large int) {
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
			b.Fatalf("lookup of token %d in a store of %d: %+v, %v", i, n, t, err)
		}
		return d
	}
	// Warm both up the same way, so neither pays its first connections
	// and statement preparations inside the measurement.
	for range 1000 {
		lookup(smallStore, small)
		lookup(largeStore, large)
	}
	var inSmall, inLarge time.Duration
	for b.Loop() {
		inSmall += lookup(smallStore, small)
		inLarge += lookup(largeStore, large)
	}
	nsSmall := float64(inSmall.Nanoseconds()) / float64(b.N)
	nsLarge := float64(inLarge.Nanoseconds()) / float64(b.N)
	ratio := nsSmall / nsLarge
	b.ReportMetric(nsSmall, fmt.Sprintf("ns/lookup@%d", small))
	b.ReportMetric(nsLarge, fmt.Sprintf("ns/lookup@%d", large))
	b.ReportMetric(ratio, "rate_ratio")
	verdict := "meets"
	if ratio < LookupScalingTarget {
		verdict = "BELOW"
	}
	b.Logf("app-token lookups: %d tokens %.0f/s, %d tokens %.0f/s, rate ratio %.3f (%s target %.2f)",
		small, 1e9/nsSmall, large, 1e9/nsLarge, ratio, verdict, LookupScalingTarget)
}
