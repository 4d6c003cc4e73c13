package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/apptoken"
	"github.com/portcullis/portcullis/internal/authn/dbuser"
	"github.com/portcullis/portcullis/internal/authn/htpasswd"
	"github.com/portcullis/portcullis/internal/authn/ldap"
	"github.com/portcullis/portcullis/internal/authn/static"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/store"
)

// backendDeps is what an authenticator factory may use.
type backendDeps struct {
	store  store.Store
	logger *slog.Logger
	// users answers whether a user is known to the chain (for app tokens
	// of users that are not in the database).
	users apptoken.UserLookup
	// bcryptCost is authn.bcrypt_cost: backends compare against dummy
	// hashes of this cost, so an unknown name or a denial costs what a
	// real password check costs.
	bcryptCost int
}

type factory func(ctx context.Context, c config.AuthenticatorConfig, d backendDeps) (authn.Authenticator, error)

// factories maps each authenticator type to its constructor: an explicit
// list, no registration side effects.
var factories = map[string]factory{
	"static": func(_ context.Context, c config.AuthenticatorConfig, _ backendDeps) (authn.Authenticator, error) {
		users := make(map[string]static.User, len(c.Users))
		for name, u := range c.Users {
			users[name] = static.User{Hash: []byte(u.Password), Admin: u.Admin, Labels: u.Labels}
		}
		return static.New(c.Name, users)
	},
	"htpasswd": func(_ context.Context, c config.AuthenticatorConfig, d backendDeps) (authn.Authenticator, error) {
		return htpasswd.New(c.Name, c.Path, c.Admins, d.logger)
	},
	"db": func(_ context.Context, c config.AuthenticatorConfig, d backendDeps) (authn.Authenticator, error) {
		return dbuser.New(c.Name, d.store, d.logger).WithBcryptCost(d.bcryptCost), nil
	},
	"apptoken": func(_ context.Context, c config.AuthenticatorConfig, d backendDeps) (authn.Authenticator, error) {
		return apptoken.New(c.Name, d.store, d.users, d.logger), nil
	},
	"ldap": func(_ context.Context, c config.AuthenticatorConfig, d backendDeps) (authn.Authenticator, error) {
		b, err := ldap.New(c.Name, *c.LDAP, d.logger)
		if err != nil {
			return nil, err
		}
		b.SetAdminAccounts(c.Admins)
		b.SetBcryptCost(d.bcryptCost)
		return b, nil
	},
}

// buildChain makes the configured authentication chain.
func buildChain(ctx context.Context, cfg *config.Config, st store.Store, logger *slog.Logger) (*authn.Chain, []authn.Authenticator, error) {
	var cache *authn.Cache
	if cfg.Authn.Cache.On() {
		cache = authn.NewCache(cfg.Authn.Cache.TTL, cfg.Authn.Cache.MaxEntries)
	}
	lookup := &chainLookup{}
	d := backendDeps{store: st, logger: logger, users: lookup, bcryptCost: cfg.Authn.BcryptCost}
	var links []authn.Link
	var backends []authn.Authenticator
	for i, ac := range cfg.Authn.Chain {
		f, ok := factories[ac.Type]
		if !ok {
			return nil, nil, fmt.Errorf("authn.chain[%d]: unknown type %q", i, ac.Type)
		}
		a, err := f(ctx, ac, d)
		if err != nil {
			return nil, nil, fmt.Errorf("authn.chain[%d] (%s): %w", i, ac.Name, err)
		}
		links = append(links, authn.Link{Authenticator: a, SkipOnError: ac.OnError == "skip"})
		backends = append(backends, a)
	}
	chain, err := authn.NewChain(links, cache, cfg.Authn.BcryptCost, logger)
	if err != nil {
		return nil, nil, err
	}
	lookup.chain = chain
	revokeOnChange(backends, cache, st, logger)
	return chain, backends, nil
}

// revokeOnChange makes a file-backed backend's reload drop, for every user
// whose entry changed or was removed, the cached credentials and the
// user's refresh tokens (sessions): a password change revokes them, as
// `user passwd` does for database users.
func revokeOnChange(backends []authn.Authenticator, cache *authn.Cache, st store.Store, logger *slog.Logger) {
	for _, b := range backends {
		w, ok := b.(authn.Watcher)
		if !ok {
			continue
		}
		source := b.Name()
		w.SetInvalidator(func(user string) {
			if cache != nil {
				cache.InvalidateUser(user)
			}
			if st == nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			n, err := st.DeleteRefreshTokens(ctx, user)
			if err != nil {
				logger.Error("revoking the sessions of a changed user failed", "authenticator", source, "user", user, "err", err)
				return
			}
			if n > 0 {
				logger.Info("sessions revoked: user's entry changed or was removed", "authenticator", source, "user", user, "sessions", n)
			}
		})
	}
}

// chainLookup lets the app-token backend ask the whole chain whether a
// token's owner still exists and is enabled.
type chainLookup struct{ chain *authn.Chain }

func (l *chainLookup) UserEnabled(ctx context.Context, user string) (bool, error) {
	_, ok, err := l.chain.LookupUser(ctx, user)
	return ok, err
}

// LookupUser lets app-token identities carry their owner's admin flag and
// labels.
func (l *chainLookup) LookupUser(ctx context.Context, user string) (*authn.Identity, bool, error) {
	return l.chain.LookupUser(ctx, user)
}

// watchBackends starts file watchers of backends that have them.
func watchBackends(ctx context.Context, backends []authn.Authenticator) {
	for _, b := range backends {
		if h, ok := b.(*htpasswd.Backend); ok {
			go h.Watch(ctx, 2*time.Second)
		}
	}
}

// reloadBackends re-reads file-backed users (SIGHUP).
func reloadBackends(backends []authn.Authenticator, logger *slog.Logger) {
	for _, b := range backends {
		if h, ok := b.(*htpasswd.Backend); ok {
			if err := h.Reload(); err != nil {
				logger.Error("reload failed; keeping the previous users", "authenticator", b.Name(), "err", err)
			}
		}
	}
}
