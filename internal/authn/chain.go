package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"golang.org/x/crypto/bcrypt"
)

// Link is one authenticator in a chain with its error policy.
type Link struct {
	Authenticator Authenticator
	// SkipOnError lets the chain go on to the next authenticator when this
	// one fails (directory down); by default a failure stops the chain with
	// an error (503), never a grant.
	SkipOnError bool
}

// Chain runs authenticators in order; the first Grant or Deny decides.
// Grants of Cacheable authenticators are remembered in the cache.
type Chain struct {
	links  []Link
	cache  *Cache
	logger *slog.Logger
	dummy  []byte
}

var _ Authenticator = (*Chain)(nil)

// NewChain builds a chain. cache may be nil (no caching). bcryptCost is the
// cost of the dummy hash compared against when no authenticator knows a
// user, so that unknown users cost the same time as wrong passwords.
func NewChain(links []Link, cache *Cache, bcryptCost int, logger *slog.Logger) (*Chain, error) {
	dummy, err := bcrypt.GenerateFromPassword([]byte("portcullis-dummy-password"), bcryptCost)
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Chain{links: links, cache: cache, logger: logger, dummy: dummy}
	if cache != nil {
		for _, l := range links {
			if w, ok := l.Authenticator.(Watcher); ok {
				w.SetInvalidator(cache.InvalidateUser)
			}
		}
	}
	return c, nil
}

// Name implements Authenticator.
func (c *Chain) Name() string { return "chain" }

// Cache returns the chain's verified-credential cache (nil when off).
func (c *Chain) Cache() *Cache { return c.cache }

// Links returns the chain's authenticators in order.
func (c *Chain) Links() []Link { return c.links }

// Authenticate runs the chain. An empty password is never accepted.
func (c *Chain) Authenticate(ctx context.Context, cr Credentials) (Result, error) {
	if cr.Username == "" || cr.Password == "" {
		return Result{Decision: Deny, Reason: "empty user name or password"}, nil
	}
	if c.cache != nil {
		if id, a, ok := c.cache.Get(cr.Username, cr.Password); ok {
			valid := true
			if cb, isC := a.(Cacheable); isC {
				var err error
				valid, err = cb.Revalidate(ctx, id)
				if err != nil {
					return Result{}, fmt.Errorf("%s: %w", a.Name(), err)
				}
			}
			if valid {
				return Result{Decision: Grant, Identity: id, Reason: "cached"}, nil
			}
			c.cache.InvalidateUser(cr.Username)
		}
	}
	hashed := false
	for _, l := range c.links {
		a := l.Authenticator
		res, err := a.Authenticate(ctx, cr)
		if err != nil {
			if l.SkipOnError {
				c.logger.WarnContext(ctx, "authenticator failed; trying the next one", "authenticator", a.Name(), "err", err)
				continue
			}
			if !errors.Is(err, ErrBackend) {
				err = fmt.Errorf("%w: %w", ErrBackend, err)
			}
			return Result{}, fmt.Errorf("%s: %w", a.Name(), err)
		}
		hashed = hashed || res.Hashed
		switch res.Decision {
		case Grant:
			if res.Identity == nil {
				return Result{}, fmt.Errorf("%s: %w: grant without identity", a.Name(), ErrBackend)
			}
			if res.Identity.Source == "" {
				res.Identity.Source = a.Name()
			}
			if c.cache != nil {
				if _, isC := a.(Cacheable); isC {
					c.cache.Put(cr.Username, cr.Password, res.Identity, a)
				}
			}
			return res, nil
		case Deny:
			if res.Identity == nil {
				res.Identity = &Identity{Account: cr.Username, Source: a.Name()}
			}
			return res, nil
		}
	}
	if !hashed {
		_ = bcrypt.CompareHashAndPassword(c.dummy, []byte(cr.Password))
	}
	return Result{Decision: Abstain, Reason: "unknown user"}, nil
}

// LookupUser asks the chain's authenticators that can describe users, in
// order, for the user's current identity. The first that knows the name
// decides (a disabled user is not found, and later links are not asked).
// A failing link is skipped or stops the lookup with an error by the same
// policy as in Authenticate, so app tokens and refresh tokens stay usable
// whenever passwords are.
func (c *Chain) LookupUser(ctx context.Context, user string) (*Identity, bool, error) {
	for _, l := range c.links {
		lu, ok := l.Authenticator.(UserLookup)
		if !ok {
			continue
		}
		var (
			id    *Identity
			found bool
			err   error
		)
		if ud, ok := l.Authenticator.(UserDecider); ok {
			var d Decision
			id, d, err = ud.DecideUser(ctx, user)
			if err == nil && d == Deny {
				// Known here and refused: the later links are not asked,
				// as a password login stops at this link's deny.
				return nil, false, nil
			}
			found = err == nil && d == Grant
		} else {
			id, found, err = lu.LookupUser(ctx, user)
		}
		if err != nil {
			if l.SkipOnError {
				c.logger.WarnContext(ctx, "user lookup failed; trying the next authenticator", "authenticator", l.Authenticator.Name(), "err", err)
				continue
			}
			return nil, false, fmt.Errorf("%s: %w", l.Authenticator.Name(), err)
		}
		if found {
			if id.Source == "" {
				id.Source = l.Authenticator.Name()
			}
			return id, true, nil
		}
	}
	return nil, false, nil
}

// StillValid reports whether a grant the chain made is still good now:
// the granting authenticator's Revalidate (for database and htpasswd
// users: the password checked is still the user's, the account still
// enabled). A password check takes a while; a password changed meanwhile
// revokes the sessions the user has at that moment, so whatever the login
// stores afterwards (a refresh token) must be checked against this once
// stored. Grants of authenticators that cannot tell stay good.
func (c *Chain) StillValid(ctx context.Context, id *Identity) (bool, error) {
	for _, l := range c.links {
		if l.Authenticator.Name() != id.Source {
			continue
		}
		cb, ok := l.Authenticator.(Cacheable)
		if !ok {
			return true, nil
		}
		valid, err := cb.Revalidate(ctx, id)
		if err != nil {
			return false, fmt.Errorf("%s: %w", l.Authenticator.Name(), err)
		}
		return valid, nil
	}
	return false, nil
}

// CanLookup reports whether the authenticator named source can describe
// its users later (a condition for issuing refresh tokens).
func (c *Chain) CanLookup(source string) bool {
	for _, l := range c.links {
		if l.Authenticator.Name() == source {
			if ll, ok := l.Authenticator.(LookupLimited); ok && !ll.CanLookupUsers() {
				return false
			}
			_, ok := l.Authenticator.(UserLookup)
			return ok
		}
	}
	return false
}
