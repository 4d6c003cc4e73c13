package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

// Factory makes a fresh, empty store using opts. It registers the store's
// cleanup with t.
type Factory func(t *testing.T, opts store.Options) store.Store

// start is where every subtest's clock begins: a fixed instant with a
// sub-second part, in a non-UTC zone, so precision and zone handling are
// both exercised.
var start = time.Date(2031, 3, 14, 15, 9, 26, 535_000_000, time.FixedZone("X", 2*3600))

type testCase struct {
	name string
	run  func(t *testing.T, s store.Store, clk *Clock)
}

// RunTests runs the whole conformance suite against the stores newStore
// makes; every subtest gets its own empty store and its own clock.
func RunTests(t *testing.T, newStore Factory) {
	var cases []testCase
	cases = append(cases, userCases...)
	cases = append(cases, appTokenCases...)
	cases = append(cases, refreshTokenCases...)
	cases = append(cases, engineTokenCases...)
	cases = append(cases, apiKeyCases...)
	cases = append(cases, replayCases...)
	cases = append(cases, concurrencyCases...)
	cases = append(cases, validationCases...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := NewClock(start)
			s := newStore(t, store.Options{Now: clk.Now})
			tc.run(t, s, clk)
		})
	}
}

// ctx bounds every call of a subtest.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func mustIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

// sameTime checks that got is want to the microsecond and is in UTC (a
// zero want must come back zero).
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s = %v, want zero", what, got)
		}
		return
	}
	if !got.Equal(want.Truncate(time.Microsecond)) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}
