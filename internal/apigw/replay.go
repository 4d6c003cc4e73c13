package apigw

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

// errReplayFull is returned when the in-memory cache holds its maximum.
var errReplayFull = errors.New("replay cache full")

// replayGuard accepts a token signature once until it expires.
type replayGuard interface {
	claim(ctx context.Context, key string, expires time.Time) (bool, error)
	purge(ctx context.Context) error
}

// memoryReplay is the single-instance guard: sharded maps of signature to
// expiry, swept as they are used.
type memoryReplay struct {
	seed   maphash.Seed
	shards [64]replayShard
	max    int // per shard
	now    func() time.Time
}

type replayShard struct {
	mu        sync.Mutex
	m         map[string]time.Time
	lastSweep time.Time
}

func newMemoryReplay(maxEntries int, now func() time.Time) *memoryReplay {
	r := &memoryReplay{seed: maphash.MakeSeed(), max: max(maxEntries/64, 16), now: now}
	for i := range r.shards {
		r.shards[i].m = map[string]time.Time{}
	}
	return r
}

func (r *memoryReplay) claim(_ context.Context, key string, expires time.Time) (bool, error) {
	s := &r.shards[maphash.String(r.seed, key)%uint64(len(r.shards))]
	now := r.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.m[key]; ok && now.Before(exp) {
		return false, nil
	}
	if len(s.m) >= r.max || now.Sub(s.lastSweep) > 10*time.Second {
		s.sweep(now)
	}
	if len(s.m) >= r.max {
		return false, errReplayFull
	}
	s.m[key] = expires
	return true, nil
}

func (s *replayShard) sweep(now time.Time) {
	for k, exp := range s.m {
		if !now.Before(exp) {
			delete(s.m, k)
		}
	}
	s.lastSweep = now
}

func (r *memoryReplay) purge(context.Context) error {
	now := r.now()
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		s.sweep(now)
		s.mu.Unlock()
	}
	return nil
}

// storeTimeout bounds one call to the shared store (replay claim, key
// lookup): a database that stops answering makes requests fail with 503
// instead of hanging them.
const storeTimeout = 3 * time.Second

// storeReplay shares the guard between instances through the store.
type storeReplay struct{ st store.ReplayStore }

func (r storeReplay) claim(ctx context.Context, key string, expires time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return r.st.ClaimOnce(ctx, key, expires)
}

// purgeTimeout bounds one sweep of the shared store, so that a hung
// database cannot stall the sweeper for good.
const purgeTimeout = time.Minute

func (r storeReplay) purge(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, purgeTimeout)
	defer cancel()
	return r.st.PurgeExpired(ctx)
}

// noReplay is replay protection turned off.
type noReplay struct{}

func (noReplay) claim(context.Context, string, time.Time) (bool, error) { return true, nil }
func (noReplay) purge(context.Context) error                            { return nil }

var (
	_ replayGuard = (*memoryReplay)(nil)
	_ replayGuard = storeReplay{}
	_ replayGuard = noReplay{}
)
