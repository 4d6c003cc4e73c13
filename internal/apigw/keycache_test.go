package apigw

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
	"github.com/portcullis/portcullis/internal/testenv"
)

// countingKeys counts the lookups that reach the store.
type countingKeys struct {
	store.APIKeyStore
	gets atomic.Int64
}

func (c *countingKeys) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	c.gets.Add(1)
	return c.APIKeyStore.GetAPIKey(ctx, id)
}

// TestUnknownIDsDoNotEvictKeys: a flood of made-up key ids (anyone can
// send them, no signature needed) must not push real keys out of the
// cache, which would send every real request to the database.
func TestUnknownIDsDoNotEvictKeys(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateAPIKey(ctx, store.APIKey{ID: "real", Secret: seedKey002, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ck := &countingKeys{APIKeyStore: st}
	kr, err := newKeyring(filepath.Join(t.TempDir(), "none"), ck, time.Hour, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if k, err := kr.lookup(ctx, "real"); err != nil || k == nil {
		t.Fatalf("real key: %v %v", k, err)
	}
	for i := range 2 * storeKeyCacheSize {
		if k, err := kr.lookup(ctx, fmt.Sprintf("nokey%d", i)); err != nil || k != nil {
			t.Fatalf("made-up id: %v %v", k, err)
		}
	}
	before := ck.gets.Load()
	if k, err := kr.lookup(ctx, "real"); err != nil || k == nil {
		t.Fatalf("real key: %v %v", k, err)
	}
	if ck.gets.Load() != before {
		t.Fatal("made-up ids pushed the real key out of the cache: it was read from the store again")
	}
}

// slowKeys answers after a pause and records how many lookups were in
// flight at once.
type slowKeys struct {
	store.APIKeyStore
	now, peak atomic.Int64
}

func (s *slowKeys) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond)
	return store.APIKey{}, store.ErrNotFound
}

// TestStoreLookupsBounded: many requests with made-up ids at once (no
// signature is needed to make one) reach the store at most
// maxStoreLookups at a time.
func TestStoreLookupsBounded(t *testing.T) {
	sk := &slowKeys{}
	kr, err := newKeyring(filepath.Join(t.TempDir(), "none"), sk, time.Hour, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			if k, err := kr.lookup(context.Background(), fmt.Sprintf("made-up-%d", i)); err != nil || k != nil {
				t.Errorf("lookup: %v %v", k, err)
			}
		})
	}
	wg.Wait()
	if p := sk.peak.Load(); p > maxStoreLookups || p < 2 {
		t.Fatalf("%d lookups reached the store at once; want 2..%d", p, maxStoreLookups)
	}
}
