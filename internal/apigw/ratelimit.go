package apigw

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters hold one token bucket per key id. Only verified keys get one,
// so their number is bounded by the keys that exist.
type limiters struct {
	limit rate.Limit
	burst int
	m     sync.Map // key id -> *rate.Limiter
}

func newLimiters(perSecond, burst int) *limiters {
	if perSecond <= 0 {
		return nil
	}
	return &limiters{limit: rate.Limit(perSecond), burst: max(burst, 1)}
}

// allow takes a token for id, or returns how long to wait for one.
func (l *limiters) allow(id string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	v, ok := l.m.Load(id)
	if !ok {
		v, _ = l.m.LoadOrStore(id, rate.NewLimiter(l.limit, l.burst))
	}
	lim := v.(*rate.Limiter)
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// retryAfter is the Retry-After value: whole seconds, at least 1.
func retryAfter(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
