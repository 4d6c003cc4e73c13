package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/apptoken"
	"github.com/portcullis/portcullis/internal/authn/dbuser"
	"github.com/portcullis/portcullis/internal/authn/htpasswd"
	"github.com/portcullis/portcullis/internal/authn/ldap"
	"github.com/portcullis/portcullis/internal/authn/static"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/store"
	"golang.org/x/crypto/bcrypt"
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
	"static": func(_ context.Context, c config.AuthenticatorConfig, d backendDeps) (authn.Authenticator, error) {
		users := make(map[string]static.User, len(c.Users))
		for name, u := range c.Users {
			users[name] = static.User{Hash: []byte(u.Password), Admin: u.Admin, Labels: u.Labels}
		}
		b, err := static.New(c.Name, users)
		if err != nil {
			return nil, err
		}
		b.SetBcryptCost(d.bcryptCost)
		// Refusals of users with dearer hashes cannot be padded down.
		n, most := 0, 0
		for _, u := range users {
			if cost, err := bcrypt.Cost(u.Hash); err == nil && cost > d.bcryptCost {
				n, most = n+1, max(most, cost)
			}
		}
		if n > 0 {
			d.logger.Warn("password hashes dearer than authn.bcrypt_cost: a wrong password for these users takes longer than an unknown name, which tells who is a user; rehash them at authn.bcrypt_cost or raise it",
				"authenticator", c.Name, "users", n, "highest_cost", most, "bcrypt_cost", d.bcryptCost)
		}
		return b, nil
	},
	"htpasswd": func(_ context.Context, c config.AuthenticatorConfig, d backendDeps) (authn.Authenticator, error) {
		b, err := htpasswd.New(c.Name, c.Path, c.Admins, d.logger)
		if err != nil {
			return nil, err
		}
		b.SetBcryptCost(d.bcryptCost)
		return b, nil
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
func buildChain(ctx context.Context, cfg *config.Config, st store.Store, logger *slog.Logger) (*authn.Chain, []authn.Authenticator, *credRecord, error) {
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
			return nil, nil, nil, fmt.Errorf("authn.chain[%d]: unknown type %q", i, ac.Type)
		}
		a, err := f(ctx, ac, d)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("authn.chain[%d] (%s): %w", i, ac.Name, err)
		}
		links = append(links, authn.Link{Authenticator: a, SkipOnError: ac.OnError == "skip"})
		backends = append(backends, a)
	}
	chain, err := authn.NewChain(links, cache, cfg.Authn.BcryptCost, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	lookup.chain = chain
	rec := &credRecord{path: filepath.Join(cfg.DataDir, credRecordFile), chain: cfg.Authn.Chain, st: st,
		logger: logger, kick: make(chan struct{}, 1)}
	rec.sync(true)
	revokeOnChange(backends, cache, st, logger, rec)
	return chain, backends, rec, nil
}

// credRecordFile keeps, between runs, a fingerprint (SHA-256) of the
// password hash of every static and htpasswd user, so that a password
// changed while Portcullis was stopped still revokes that user's
// sessions at the next start.
const credRecordFile = "credentials.seen"

// credRecord compares file-backed users' password hashes with the ones
// seen before (in this run or the previous one) and revokes the refresh
// tokens of users whose hash changed or who are gone.
type credRecord struct {
	path   string
	chain  []config.AuthenticatorConfig
	st     store.Store
	logger *slog.Logger
	mu     sync.Mutex
	kick   chan struct{}
	// unrevoked are users whose sessions had to be revoked but the store
	// failed (down, restarting). Recording their new hash as seen would
	// drop the revocation for good, and the old sessions would live on:
	// run retries them, and until then the file records them as changed,
	// so that a restart retries too. A session opened with the new
	// password before the retry goes as well: the lesser evil.
	unrevoked map[string]bool
}

// unrevokedMark is recorded instead of the fingerprint of a user whose
// sessions are still to be revoked; it matches no fingerprint.
const unrevokedMark = "revocation pending"

// revokeRetry is how often run retries revocations the store failed.
const revokeRetry = 2 * time.Second

// revoke deletes user's refresh tokens, or notes the user for a retry.
// The caller holds r.mu.
func (r *credRecord) revoke(source, user string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	n, err := r.st.DeleteRefreshTokens(ctx, user)
	cancel()
	if err != nil {
		r.logger.Error("revoking the sessions of a changed user failed; will retry", "authenticator", source, "user", user, "err", err)
		if r.unrevoked == nil {
			r.unrevoked = map[string]bool{}
		}
		r.unrevoked[user] = true
		return
	}
	delete(r.unrevoked, user)
	if n > 0 {
		r.logger.Info("sessions revoked: user's entry changed or was removed", "authenticator", source, "user", user, "sessions", n)
	}
}

// revokeFailed notes that the reload's own revocation of user failed and
// asks run to retry.
func (r *credRecord) revokeFailed(user string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.unrevoked == nil {
		r.unrevoked = map[string]bool{}
	}
	r.unrevoked[user] = true
	r.mu.Unlock()
	r.changed()
}

// current reads the password hashes the configuration and the htpasswd
// files hold now: authenticator name -> user -> fingerprint.
func (r *credRecord) current() (map[string]map[string]string, error) {
	fp := func(h []byte) string { s := sha256.Sum256(h); return hex.EncodeToString(s[:]) }
	out := map[string]map[string]string{}
	for _, ac := range r.chain {
		users := map[string]string{}
		switch ac.Type {
		case "static":
			for name, u := range ac.Users {
				users[name] = fp([]byte(u.Password))
			}
		case "htpasswd":
			data, err := os.ReadFile(ac.Path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			parsed, err := htpasswd.Parse(data)
			if err != nil {
				return nil, err
			}
			for name, h := range parsed {
				users[name] = fp(h)
			}
		default:
			continue
		}
		out[ac.Name] = users
	}
	return out, nil
}

// sync revokes (when revoke is set) the sessions of users whose recorded
// hash changed or who are gone, then records the current hashes. The
// first run records only. At run time the reload's invalidator has
// revoked already, and a second revocation could hit a session opened
// with the new password in between: run only records.
func (r *credRecord) sync(revoke bool) {
	if r == nil || r.st == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, err := r.current()
	if err != nil {
		r.logger.Warn("reading users to compare with the recorded ones failed; sessions not checked", "err", err)
		return
	}
	var old map[string]map[string]string
	if data, err := os.ReadFile(r.path); err == nil {
		if err := json.Unmarshal(data, &old); err != nil {
			r.logger.Warn("recorded user fingerprints unreadable; recording anew", "path", r.path, "err", err)
			old = nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		r.logger.Warn("reading recorded user fingerprints failed", "path", r.path, "err", err)
	}
	done := map[string]bool{}
	if revoke {
		for source, users := range old {
			for user, f := range users {
				if cur[source][user] == f || done[user] {
					continue
				}
				done[user] = true
				r.revoke(source, user)
			}
		}
	}
	for user := range r.unrevoked {
		if !done[user] {
			done[user] = true
			r.revoke("", user)
		}
	}
	// Record what is current, except for users still to be revoked: for
	// them a mark, or the old entry when they are gone, so the next start
	// sees them as changed.
	record := map[string]map[string]string{}
	for source, users := range cur {
		record[source] = maps.Clone(users)
	}
	for user := range r.unrevoked {
		for source, users := range old {
			if f, ok := users[user]; ok && record[source] != nil {
				if _, now := record[source][user]; !now {
					record[source][user] = f
				}
			}
		}
		for source := range record {
			if _, ok := record[source][user]; ok {
				record[source][user] = unrevokedMark
			}
		}
	}
	data, err := json.Marshal(record)
	if err == nil {
		tmp := r.path + ".tmp"
		if err = os.WriteFile(tmp, data, 0o600); err == nil {
			err = os.Rename(tmp, r.path)
		}
	}
	if err != nil {
		r.logger.Warn("recording user fingerprints failed", "path", r.path, "err", err)
	}
}

// run re-syncs the record after each reload, until ctx ends.
func (r *credRecord) run(ctx context.Context) {
	if r == nil {
		return
	}
	retry := time.NewTicker(revokeRetry)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			r.sync(false)
		case <-retry.C:
			r.mu.Lock()
			pending := len(r.unrevoked) > 0
			r.mu.Unlock()
			if pending {
				r.sync(false)
			}
		}
	}
}

// changed asks run for a sync without blocking the reload.
func (r *credRecord) changed() {
	if r == nil {
		return
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// revokeOnChange makes a file-backed backend's reload drop, for every user
// whose entry changed or was removed, the cached credentials and the
// user's refresh tokens (sessions): a password change revokes them, as
// `user passwd` does for database users.
func revokeOnChange(backends []authn.Authenticator, cache *authn.Cache, st store.Store, logger *slog.Logger, rec *credRecord) {
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
			rec.changed()
			if st == nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			n, err := st.DeleteRefreshTokens(ctx, user)
			if err != nil {
				logger.Error("revoking the sessions of a changed user failed; will retry", "authenticator", source, "user", user, "err", err)
				rec.revokeFailed(user)
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
func watchBackends(ctx context.Context, backends []authn.Authenticator, rec *credRecord) {
	go rec.run(ctx)
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
