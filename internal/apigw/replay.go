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
	claim(ctx context.Context, tok *Token, expires time.Time) (bool, error)
	purge(ctx context.Context) error
}

// memoryReplay is the single-instance guard: sharded maps of MAC to
// expiry, swept as they are used.
//
// A map entry holds no pointer (a fixed-size MAC and Unix nanoseconds),
// so the garbage collector never scans the cache: with tokens living up
// to a minute, a busy gateway keeps a million entries, which as string
// keys cost every GC cycle a walk over all of them and one allocation
// per request. The MAC alone is the key: HMAC-SHA256 outputs of distinct
// (key, message) pairs do not collide in practice, and the payload
// carries the key id, so a token of one key never blocks another's.
type memoryReplay struct {
	seed   maphash.Seed
	shards [64]replayShard
	max    int // per shard
	now    func() time.Time
}

type replayShard struct {
	mu        sync.Mutex
	m         map[[macLen]byte]int64 // MAC -> expiry, Unix nanoseconds
	lastSweep int64
}

func newMemoryReplay(maxEntries int, now func() time.Time) *memoryReplay {
	r := &memoryReplay{seed: maphash.MakeSeed(), max: max(maxEntries/64, 16), now: now}
	for i := range r.shards {
		r.shards[i].m = map[[macLen]byte]int64{}
	}
	return r
}

func (r *memoryReplay) claim(_ context.Context, tok *Token, expires time.Time) (bool, error) {
	var key [macLen]byte
	if copy(key[:], tok.mac) != macLen {
		return false, errors.New("replay check: MAC is not 32 bytes")
	}
	// Seeded, so that nobody grinds tokens into one shard.
	s := &r.shards[maphash.Bytes(r.seed, key[:])%uint64(len(r.shards))]
	now := r.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.m[key]; ok && now < exp {
		return false, nil
	}
	if len(s.m) >= r.max || now-s.lastSweep > int64(10*time.Second) {
		s.sweep(now)
	}
	if len(s.m) >= r.max {
		return false, errReplayFull
	}
	s.m[key] = expires.UnixNano()
	return true, nil
}

func (s *replayShard) sweep(now int64) {
	for k, exp := range s.m {
		if now >= exp {
			delete(s.m, k)
		}
	}
	s.lastSweep = now
}

func (r *memoryReplay) purge(context.Context) error {
	now := r.now().UnixNano()
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

func (r storeReplay) claim(ctx context.Context, tok *Token, expires time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return r.st.ClaimOnce(ctx, tok.replayKey(), expires)
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

func (noReplay) claim(context.Context, *Token, time.Time) (bool, error) { return true, nil }
func (noReplay) purge(context.Context) error                            { return nil }

var (
	_ replayGuard = (*memoryReplay)(nil)
	_ replayGuard = storeReplay{}
	_ replayGuard = noReplay{}
)
