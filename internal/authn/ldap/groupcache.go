package ldap

import (
	"sync"
	"time"
)

// groupCacheMax bounds the group cache; when full, expired entries are
// dropped, and if none are, the whole cache.
const groupCacheMax = 10000

// groupCache keeps each user's groups (by lower-cased DN) for a while, so
// that a client logging in again and again does not cost a group search
// each time. Membership changes in the directory show after at most ttl.
type groupCache struct {
	ttl time.Duration // <= 0: off

	mu      sync.Mutex
	entries map[string]groupEntry
}

type groupEntry struct {
	names   []string
	expires time.Time
}

func newGroupCache(ttl time.Duration) *groupCache {
	return &groupCache{ttl: ttl, entries: map[string]groupEntry{}}
}

func (g *groupCache) get(key string, now time.Time) ([]string, bool) {
	if g.ttl <= 0 {
		return nil, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.entries[key]
	if !ok || !now.Before(e.expires) {
		delete(g.entries, key)
		return nil, false
	}
	return e.names, true
}

func (g *groupCache) put(key string, names []string, now time.Time) {
	if g.ttl <= 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.entries) >= groupCacheMax {
		for k, e := range g.entries {
			if !now.Before(e.expires) {
				delete(g.entries, k)
			}
		}
		if len(g.entries) >= groupCacheMax {
			clear(g.entries)
		}
	}
	g.entries[key] = groupEntry{names: names, expires: now.Add(g.ttl)}
}
