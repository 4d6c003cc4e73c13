package store

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"time"
)

// UsageBuffer coalesces "last used" updates in memory and writes them in
// one batch now and then, so that using a credential never costs a
// database write per request. Memory is bounded: beyond max distinct
// credentials between flushes, further uses are dropped until the next
// flush (last-used is informational).
type UsageBuffer struct {
	mu      sync.Mutex
	pending map[string]Usage
	max     int
	flush   func(ctx context.Context, uses []Usage) error
	logger  *slog.Logger
}

// NewUsageBuffer makes a buffer that writes through flush.
func NewUsageBuffer(flush func(ctx context.Context, uses []Usage) error, max int, logger *slog.Logger) *UsageBuffer {
	return &UsageBuffer{pending: map[string]Usage{}, max: max, flush: flush, logger: logger}
}

// Record notes one use.
func (b *UsageBuffer) Record(hash []byte, at time.Time, addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := string(hash)
	if u, ok := b.pending[k]; ok {
		if at.After(u.At) {
			b.pending[k] = Usage{Hash: u.Hash, At: at, Addr: addr}
		}
		return
	}
	if len(b.pending) >= b.max {
		return
	}
	b.pending[k] = Usage{Hash: bytes.Clone(hash), At: at, Addr: addr}
}

// Flush writes what is pending.
func (b *UsageBuffer) Flush(ctx context.Context) error {
	b.mu.Lock()
	if len(b.pending) == 0 {
		b.mu.Unlock()
		return nil
	}
	uses := make([]Usage, 0, len(b.pending))
	for _, u := range b.pending {
		uses = append(uses, u)
	}
	b.pending = map[string]Usage{}
	b.mu.Unlock()
	return b.flush(ctx, uses)
}

// Run flushes every interval until ctx ends, then once more.
func (b *UsageBuffer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := b.Flush(fctx); err != nil {
				b.logger.Warn("writing last-used times failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := b.Flush(ctx); err != nil {
				b.logger.Warn("writing last-used times failed", "err", err)
			}
		}
	}
}
