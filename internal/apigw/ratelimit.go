package apigw

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// limiters hold one token bucket per key id. Only verified keys get one,
// and buckets that have refilled are dropped once there are many (a full
// bucket is what a new one would be), so the table stays bounded by the
// keys active lately, not by every key ever seen.
type limiters struct {
	limit rate.Limit
	burst int
	m     sync.Map // key id -> *rate.Limiter
	n     atomic.Int64
	// next is the size that triggers a sweep: twice what the last sweep
	// left, so that many active keys do not make every new one sweep.
	next  atomic.Int64
	sweep sync.Mutex
}

// limiterSweepAt is the number of buckets beyond which a new one sweeps
// out the full ones.
const limiterSweepAt = 10000

func newLimiters(perSecond, burst int) *limiters {
	if perSecond <= 0 {
		return nil
	}
	l := &limiters{limit: rate.Limit(perSecond), burst: max(burst, 1)}
	l.next.Store(limiterSweepAt)
	return l
}

// allow takes a token for id, or returns how long to wait for one.
func (l *limiters) allow(id string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	v, ok := l.m.Load(id)
	if !ok {
		var loaded bool
		v, loaded = l.m.LoadOrStore(id, rate.NewLimiter(l.limit, l.burst))
		if !loaded && l.n.Add(1) > l.next.Load() {
			l.sweepFull(now, id)
		}
	}
	lim := v.(*rate.Limiter)
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweepFull drops the buckets that are full at now, except keep's. One
// sweep at a time; others go on without waiting.
func (l *limiters) sweepFull(now time.Time, keep string) {
	if !l.sweep.TryLock() {
		return
	}
	defer l.sweep.Unlock()
	full := float64(l.burst)
	l.m.Range(func(k, v any) bool {
		if k.(string) != keep && v.(*rate.Limiter).TokensAt(now) >= full && l.m.CompareAndDelete(k, v) {
			l.n.Add(-1)
		}
		return true
	})
	l.next.Store(max(limiterSweepAt, 2*l.n.Load()))
}

// size is the number of buckets held.
func (l *limiters) size() int { return int(l.n.Load()) }

// retryAfter is the Retry-After value: whole seconds, at least 1.
func retryAfter(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
