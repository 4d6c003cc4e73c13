package apigw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/portcullis/portcullis/internal/filewatch"
	"github.com/portcullis/portcullis/internal/store"
)

// errKeyStore marks a failure of the key store (answered 503, not 401).
var errKeyStore = errors.New("key store unavailable")

// keyring finds keys: first in the keys file, then in the store.
type keyring struct {
	path  string
	file  atomic.Pointer[map[string]*Key]
	st    store.APIKeyStore // nil: file keys only
	cache *expirable.LRU[string, *Key]
	// misses remembers ids the store does not have, apart from cache:
	// anyone can send made-up ids, and they must not push real keys out.
	misses *expirable.LRU[string, struct{}]
	// lookups bounds the store queries in flight: ids come from
	// unauthenticated requests (no signature is checked before the key
	// is found), and made-up ones must not take the database connections
	// the rest of Portcullis shares.
	lookups chan struct{}
	logger  *slog.Logger

	mu     sync.Mutex        // serialises reloads
	loaded filewatch.Version // the version loaded
	// tried is the version the last reload read; bad the last broken
	// version the watcher reported, so that it reports each one once
	// while it keeps trying.
	tried, bad filewatch.Version
}

const storeKeyCacheSize = 10000

// maxStoreLookups is how many key lookups may wait on the store at once;
// more wait their turn, up to storeTimeout (then 503).
const maxStoreLookups = 8

func newKeyring(path string, st store.APIKeyStore, ttl time.Duration, logger *slog.Logger) (*keyring, error) {
	kr := &keyring{path: path, st: st, logger: logger, lookups: make(chan struct{}, maxStoreLookups)}
	if st != nil {
		kr.cache = expirable.NewLRU[string, *Key](storeKeyCacheSize, nil, ttl)
		kr.misses = expirable.NewLRU[string, struct{}](storeKeyCacheSize, nil, ttl)
	}
	if err := kr.reload(); err != nil {
		return nil, err
	}
	return kr, nil
}

// reload re-reads the keys file; on error the keys already loaded stay.
func (kr *keyring) reload() error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	var mode os.FileMode
	kr.tried = filewatch.Version{}
	if fi, err := os.Stat(kr.path); err == nil {
		kr.tried, mode = filewatch.Of(fi), fi.Mode()
	}
	ks, err := ReadKeyFile(kr.path)
	if err != nil {
		return err
	}
	if mode.Perm()&0o077 != 0 && len(ks) > 0 {
		kr.logger.Warn("the API keys file holds every client's secret but others can read it: chmod 600 it",
			"file", kr.path, "mode", mode.Perm().String())
	}
	kr.loaded = kr.tried
	kr.file.Store(&ks)
	if kr.cache != nil {
		kr.cache.Purge()
		kr.misses.Purge()
	}
	kr.logger.Info("API keys loaded", "file", kr.path, "keys", len(ks))
	return nil
}

// changed reports whether the file's size or mtime moved since the last
// load, and the version it has now.
func (kr *keyring) changed() (bool, filewatch.Version) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	v := filewatch.Stat(kr.path)
	return !v.Equal(kr.loaded), v
}

// newFailure reports whether the version that failed to load is another
// than the one reported last.
func (kr *keyring) newFailure() bool {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.tried.Equal(kr.bad) {
		return false
	}
	kr.bad = kr.tried
	return true
}

// watch reloads the file when it changes, until ctx ends. A change is
// taken once the file has stayed the same for one check: a file caught
// while being rewritten in place (truncated, not yet written) would
// otherwise load as "no keys" and refuse every client until the next
// check. A broken file is tried again at every check, but each broken
// version is reported once. SIGHUP (Reload) reads the file at once.
func (kr *keyring) watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var settle filewatch.Settle
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !settle.Ready(kr.changed()) {
				continue
			}
			if err := kr.reload(); err != nil && kr.newFailure() {
				kr.logger.Error("reloading API keys failed; keeping the keys already loaded", "err", err)
			}
		}
	}
}

// lookup returns the key with id, nil if none, or an error wrapping
// errKeyStore when the store cannot answer.
func (kr *keyring) lookup(ctx context.Context, id string) (*Key, error) {
	if k := (*kr.file.Load())[id]; k != nil {
		return k, nil
	}
	if kr.st == nil {
		return nil, nil
	}
	if k, ok := kr.cache.Get(id); ok {
		return k, nil
	}
	if _, ok := kr.misses.Get(id); ok {
		return nil, nil
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	select {
	case kr.lookups <- struct{}{}:
	case <-sctx.Done():
		cancel()
		return nil, fmt.Errorf("%w: too many key lookups waiting: %w", errKeyStore, sctx.Err())
	}
	sk, err := kr.st.GetAPIKey(sctx, id)
	<-kr.lookups
	cancel()
	switch {
	case errors.Is(err, store.ErrNotFound):
		kr.misses.Add(id, struct{}{})
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %w", errKeyStore, err)
	}
	var k *Key
	if validSecret(sk.Secret) {
		k = newKey(sk.ID, sk.Secret, sk.Groups)
	} else {
		kr.logger.Error("stored API key has an unusable secret; refusing it", "key_id", id)
	}
	kr.cache.Add(id, k)
	return k, nil
}

// fileKeys is the number of keys loaded from the file.
func (kr *keyring) fileKeys() int { return len(*kr.file.Load()) }
