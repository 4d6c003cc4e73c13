package apptoken

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/store"
)

// UserLookup tells whether a token's owner is still a known, enabled user
// (in the database, a static list, htpasswd, ...). A token of a user who is
// removed or disabled stops working at once.
//
// When the value also implements authn.UserLookup, the owner's current
// admin flag and labels are copied into the identity, so the ACL treats
// the token like its owner (the token's scopes then narrow that).
type UserLookup interface {
	UserEnabled(ctx context.Context, user string) (bool, error)
}

// StoreUsers is a UserLookup over database users only.
func StoreUsers(st store.UserStore) UserLookup { return storeUsers{st} }

type storeUsers struct{ st store.UserStore }

func (s storeUsers) UserEnabled(ctx context.Context, user string) (bool, error) {
	u, err := s.st.GetUser(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !u.Disabled, nil
}

// Backend authenticates app tokens given as passwords. It deliberately does
// not implement authn.Cacheable: the lookup is one indexed read of a
// SHA-256, and a revoked token must fail on the next request everywhere.
type Backend struct {
	name   string
	st     store.AppTokenStore
	users  UserLookup
	logger *slog.Logger
	usage  *UsageRecorder
	now    func() time.Time
}

var (
	_ authn.Authenticator = (*Backend)(nil)
	_ io.Closer           = (*Backend)(nil)
)

// New makes the backend and starts its usage recorder (flushing every
// DefaultFlushEvery); Close stops it. users must not be nil: every grant
// checks the owner.
func New(name string, st store.AppTokenStore, users UserLookup, logger *slog.Logger) *Backend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Backend{
		name: name, st: st, users: users, logger: logger, now: time.Now,
		usage: NewUsageRecorder(st, DefaultFlushEvery, DefaultMaxPending, logger),
	}
}

// SetClock replaces the clock used for expiry and last-use times (tests).
func (b *Backend) SetClock(now func() time.Time) { b.now = now }

// Usage is the backend's usage recorder.
func (b *Backend) Usage() *UsageRecorder { return b.usage }

// Close flushes pending last-use times and stops the recorder.
func (b *Backend) Close() error { return b.usage.Close() }

// Name implements authn.Authenticator.
func (b *Backend) Name() string { return b.name }

const reasonUnknown = "unknown or revoked app token"

// Authenticate implements authn.Authenticator. A password that does not
// look like an app token abstains, so ordinary passwords go on down the
// chain; one that does is granted or denied here.
func (b *Backend) Authenticate(ctx context.Context, c authn.Credentials) (authn.Result, error) {
	if !LooksLike(c.Password) {
		return authn.Result{Decision: authn.Abstain}, nil
	}
	hash := Hash(c.Password)
	t, err := b.st.GetAppTokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		// Says nothing about any account: the client sent a password
		// shaped as an app token, and no such token exists.
		return authn.Result{Decision: authn.Deny, Reason: reasonUnknown, Public: reasonUnknown}, nil
	}
	if err != nil {
		return authn.Result{}, fmt.Errorf("%w: %w", authn.ErrBackend, err)
	}
	now := b.now()
	// The store found the row by this hash; the constant-time compare
	// keeps that true even for a store that matched loosely.
	if subtle.ConstantTimeCompare(t.Hash, hash) != 1 {
		return authn.Result{Decision: authn.Deny, Reason: reasonUnknown, Public: reasonUnknown}, nil
	}
	// From here the client holds a token that exists, so it may be told
	// what is wrong with it.
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return authn.Result{Decision: authn.Deny, Reason: "expired app token", Public: "app token expired; create a new one"}, nil
	}
	if t.User != c.Username {
		return authn.Result{Decision: authn.Deny, Reason: "app token of another user", Public: "the app token is not one of this user's",
			Identity: &authn.Identity{Account: c.Username, Source: b.name, Kind: authn.KindAppToken}}, nil
	}
	id := &authn.Identity{
		Account: t.User, Source: b.name, Kind: authn.KindAppToken,
		Scopes: t.Scopes, CredentialID: t.Name,
	}
	ok, err := b.ownerEnabled(ctx, id)
	if err != nil {
		return authn.Result{}, fmt.Errorf("%w: owner of app token %s: %w", authn.ErrBackend, t.Name, err)
	}
	if !ok {
		return authn.Result{Decision: authn.Deny, Reason: "app token owner removed or disabled", Public: "the app token's owner is disabled or removed", Identity: id}, nil
	}
	addr := ""
	if c.RemoteAddr.IsValid() {
		addr = c.RemoteAddr.String()
	}
	b.usage.Record(hash, now, addr)
	return authn.Result{Decision: authn.Grant, Identity: id}, nil
}

// ownerEnabled asks users about the owner, copying admin flag and labels
// into id when users can describe them.
func (b *Backend) ownerEnabled(ctx context.Context, id *authn.Identity) (bool, error) {
	if b.users == nil {
		return false, errors.New("no user lookup configured")
	}
	if lu, ok := b.users.(authn.UserLookup); ok {
		owner, found, err := lu.LookupUser(ctx, id.Account)
		if err != nil || !found {
			return false, err
		}
		id.Admin, id.Labels = owner.Admin, owner.Labels
		return true, nil
	}
	return b.users.UserEnabled(ctx, id.Account)
}
