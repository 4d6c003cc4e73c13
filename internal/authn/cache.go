package authn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// Cache remembers verified credentials so that a client asking for a token
// on every push and pull is not run through bcrypt (or an LDAP bind) each
// time. Entries are keyed by an HMAC, with a per-process secret, of user
// name and password: the cache never holds a password or a plain hash of
// one. It is bounded in size and time and drops a user's entries when the
// user's backend reports a change.
type Cache struct {
	mu      sync.Mutex
	entries map[[32]byte]*cacheEntry
	ttl     time.Duration
	max     int
	now     func() time.Time
	macPool sync.Pool
}

type cacheEntry struct {
	user    string
	id      *Identity
	auth    Authenticator
	expires time.Time
}

// TTLer is implemented by authenticators with their own cache lifetime: a
// positive value overrides the cache's TTL, a negative one means never
// cache, zero means the default.
type TTLer interface {
	CacheTTL() time.Duration
}

// NewCache makes a cache holding at most max entries for ttl each.
func NewCache(ttl time.Duration, max int) *Cache {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	c := &Cache{entries: make(map[[32]byte]*cacheEntry), ttl: ttl, max: max, now: time.Now}
	c.macPool.New = func() any { return hmac.New(sha256.New, secret) }
	return c
}

// SetClock replaces the clock (tests).
func (c *Cache) SetClock(now func() time.Time) { c.now = now }

func (c *Cache) key(user, password string) [32]byte {
	m := c.macPool.Get().(hash.Hash)
	m.Reset()
	// The user name's length first: with a mere separator, a NUL moved
	// from the end of the user name to the start of the password would
	// give the same key.
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(user)))
	m.Write(n[:])
	m.Write([]byte(user))
	m.Write([]byte(password))
	var k [32]byte
	m.Sum(k[:0])
	c.macPool.Put(m)
	return k
}

// Get returns the cached identity for these credentials.
func (c *Cache) Get(user, password string) (*Identity, Authenticator, bool) {
	k := c.key(user, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return nil, nil, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, k)
		return nil, nil, false
	}
	return e.id, e.auth, true
}

// Put remembers a grant.
func (c *Cache) Put(user, password string, id *Identity, a Authenticator) {
	ttl := c.ttl
	if t, ok := a.(TTLer); ok {
		switch d := t.CacheTTL(); {
		case d < 0:
			return
		case d > 0:
			ttl = d
		}
	}
	if ttl <= 0 || c.max <= 0 {
		return
	}
	k := c.key(user, password)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		c.evictLocked(now)
	}
	c.entries[k] = &cacheEntry{user: user, id: id, auth: a, expires: now.Add(ttl)}
}

// evictLocked drops expired entries, and if the cache is still full, an
// arbitrary tenth of it (map order is random).
func (c *Cache) evictLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	n := len(c.entries) - c.max + c.max/10 + 1
	for k := range c.entries {
		if n <= 0 {
			break
		}
		delete(c.entries, k)
		n--
	}
}

// InvalidateUser drops every entry of user, or all entries for "".
func (c *Cache) InvalidateUser(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if user == "" || e.user == user {
			delete(c.entries, k)
		}
	}
}

// Len is the number of entries (metrics, tests).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
