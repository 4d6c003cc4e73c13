package apptoken

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

// Defaults of the usage recorder.
const (
	DefaultFlushEvery = 10 * time.Second
	// DefaultMaxPending bounds memory: distinct tokens remembered between
	// two flushes (beyond it, uses are dropped until the next flush;
	// "last used" is informational).
	DefaultMaxPending = 10000
)

// UsageRecorder remembers when and from where tokens were used, and
// writes that to the store in one batch every interval and on Close, so a
// login never costs a database write. Many uses of one token between two
// flushes become a single row update with the latest time and address.
type UsageRecorder struct {
	buf    *store.UsageBuffer
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// NewUsageRecorder starts a recorder flushing to st every interval
// (<= 0: DefaultFlushEvery), holding at most maxPending distinct tokens
// (<= 0: DefaultMaxPending).
func NewUsageRecorder(st store.AppTokenStore, every time.Duration, maxPending int, logger *slog.Logger) *UsageRecorder {
	if every <= 0 {
		every = DefaultFlushEvery
	}
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &UsageRecorder{
		buf:    store.NewUsageBuffer(st.TouchAppTokens, maxPending, logger.With("what", "app token last use")),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go func() {
		defer close(r.done)
		r.buf.Run(ctx, every)
	}()
	return r
}

// Record notes one use of the token with this hash.
func (r *UsageRecorder) Record(hash []byte, at time.Time, addr string) {
	r.buf.Record(hash, at, addr)
}

// Flush writes what is pending now.
func (r *UsageRecorder) Flush(ctx context.Context) error { return r.buf.Flush(ctx) }

// Close stops the periodic flushing after a last flush.
func (r *UsageRecorder) Close() error {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
	return nil
}
