package engine

import (
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

// maxCachedTokens bounds the token cache; when full it is emptied, which
// costs one store lookup per token in use.
const maxCachedTokens = 4096

// tokenCache keeps tokens found in the store for a short time, so that the
// hot path (a /_ping or a container list) does not query the store on
// every request. Only found tokens are kept: an unknown token is looked up
// every time, so a newly created one works at once.
type tokenCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[[32]byte]cachedToken
}

type cachedToken struct {
	tok     store.EngineToken
	fetched time.Time
}

func newTokenCache(ttl time.Duration) *tokenCache {
	if ttl <= 0 {
		return nil
	}
	return &tokenCache{ttl: ttl, m: make(map[[32]byte]cachedToken)}
}

func (c *tokenCache) get(hash []byte, now time.Time) (store.EngineToken, bool) {
	if c == nil || len(hash) != 32 {
		return store.EngineToken{}, false
	}
	c.mu.RLock()
	e, ok := c.m[[32]byte(hash)]
	c.mu.RUnlock()
	if !ok || now.Sub(e.fetched) >= c.ttl || now.Before(e.fetched) {
		return store.EngineToken{}, false
	}
	return e.tok, true
}

func (c *tokenCache) put(hash []byte, t store.EngineToken, now time.Time) {
	if c == nil || len(hash) != 32 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedTokens {
		clear(c.m)
	}
	c.m[[32]byte(hash)] = cachedToken{tok: t, fetched: now}
}
