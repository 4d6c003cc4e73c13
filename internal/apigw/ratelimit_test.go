package apigw

import (
	"strconv"
	"testing"
	"time"
)

// TestLimitersBoundedForManyIDs: buckets of keys that have refilled are
// dropped (a full bucket is what a new one would be), so many key ids
// over time do not grow the table without end, while a key that has
// used its bucket stays limited.
func TestLimitersBoundedForManyIDs(t *testing.T) {
	l := newLimiters(1, 1)
	t0 := time.Unix(1_700_000_000, 0)
	if ok, _ := l.allow("busy", t0); !ok {
		t.Fatal("first request refused")
	}
	const ids = 5 * limiterSweepAt
	for i := range ids {
		now := t0.Add(time.Duration(i) * time.Second / ids * 10) // over 10 s
		if ok, _ := l.allow(strconv.Itoa(i), now); !ok {
			t.Fatalf("id %d refused on its first request", i)
		}
	}
	if n := l.size(); n > 2*limiterSweepAt {
		t.Fatalf("%d buckets kept for %d ids", n, ids)
	}
	// Everything refilled a minute later; busy empties its bucket, then
	// new ids make a sweep at the same moment: busy stays limited.
	later := t0.Add(time.Minute)
	if ok, _ := l.allow("busy", later); !ok {
		t.Fatal("refilled bucket refused")
	}
	for i := range limiterSweepAt + 1 {
		l.allow("x"+strconv.Itoa(i), later)
	}
	if n := l.size(); n > limiterSweepAt+2 {
		t.Fatalf("%d buckets kept after everything refilled", n)
	}
	if ok, wait := l.allow("busy", later); ok || wait <= 0 {
		t.Fatal("a sweep dropped a bucket in use: busy got a fresh one")
	}
}
