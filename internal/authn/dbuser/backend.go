package dbuser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/store"
	"golang.org/x/crypto/bcrypt"
)

// generationPrefix marks Identity.CredentialID of a database user: it holds
// the user's store Generation at the time of the grant, so Revalidate can
// tell that the password, admin flag, disabled flag or labels changed since,
// and the account's creation time, because a user removed and created again
// under the same name starts over at generation 1: without it, the removed
// account's cached password would pass for the new account.
const generationPrefix = "generation:"

// credentialID is what Revalidate compares: generation and incarnation.
func credentialID(u store.User) string {
	return generationPrefix + strconv.FormatInt(u.Generation, 10) + "@" + strconv.FormatInt(u.CreatedAt.UnixMicro(), 10)
}

// Backend authenticates database users.
type Backend struct {
	name   string
	st     store.UserStore
	logger *slog.Logger

	cost      int
	dummyOnce sync.Once
	dummy     []byte
	// pad makes a refusal of a user whose hash is cheaper than cost (made
	// before authn.bcrypt_cost was raised) cost what an unknown name costs.
	pad *authn.CostPadder
}

var (
	_ authn.Authenticator = (*Backend)(nil)
	_ authn.Cacheable     = (*Backend)(nil)
	_ authn.UserLookup    = (*Backend)(nil)
	_ authn.UserDecider   = (*Backend)(nil)
)

// New makes the backend. Unknown users are compared against a dummy hash
// of bcrypt.DefaultCost; WithBcryptCost sets the configured cost instead.
func New(name string, st store.UserStore, logger *slog.Logger) *Backend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Backend{name: name, st: st, logger: logger, cost: bcrypt.DefaultCost, pad: authn.NewCostPadder(bcrypt.DefaultCost)}
}

// WithBcryptCost sets the cost of the dummy hash compared against for
// unknown users, so that they cost as much time as known ones. Call it
// before the first Authenticate.
func (b *Backend) WithBcryptCost(cost int) *Backend {
	b.cost = cost
	b.pad = authn.NewCostPadder(cost)
	return b
}

// Name implements authn.Authenticator.
func (b *Backend) Name() string { return b.name }

func (b *Backend) dummyHash() []byte {
	b.dummyOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte("portcullis-dbuser-dummy"), b.cost)
		if err != nil {
			// Only an invalid cost fails; fall back to the default one.
			h, _ = bcrypt.GenerateFromPassword([]byte("portcullis-dbuser-dummy"), bcrypt.DefaultCost)
		}
		b.dummy = h
	})
	return b.dummy
}

// Authenticate implements authn.Authenticator. An unknown user abstains
// after a compare against a dummy hash; a disabled user is denied even
// with the right password.
func (b *Backend) Authenticate(ctx context.Context, c authn.Credentials) (authn.Result, error) {
	u, err := b.st.GetUser(ctx, c.Username)
	if errors.Is(err, store.ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword(b.dummyHash(), []byte(c.Password))
		return authn.Result{Decision: authn.Abstain, Reason: "unknown user", Hashed: true}, nil
	}
	if err != nil {
		return authn.Result{}, fmt.Errorf("%w: %w", authn.ErrBackend, err)
	}
	if err := bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(c.Password)); err != nil {
		b.pad.Pad(u.PasswordHash, c.Password)
		return authn.Result{Decision: authn.Deny, Reason: "wrong password", Hashed: true}, nil
	}
	if u.Disabled {
		b.pad.Pad(u.PasswordHash, c.Password)
		return authn.Result{Decision: authn.Deny, Reason: "account disabled", Public: "account disabled", Hashed: true}, nil
	}
	return authn.Result{Decision: authn.Grant, Identity: b.identity(u), Hashed: true}, nil
}

func (b *Backend) identity(u store.User) *authn.Identity {
	return &authn.Identity{
		Account:      u.Name,
		Labels:       u.Labels,
		Admin:        u.Admin,
		Source:       b.name,
		Kind:         authn.KindPassword,
		CredentialID: credentialID(u),
	}
}

// Revalidate implements authn.Cacheable: one indexed read, no bcrypt. A
// cached grant stays valid only while the user exists, is enabled and has
// the generation and creation time it had when the password was checked.
func (b *Backend) Revalidate(ctx context.Context, id *authn.Identity) (bool, error) {
	if !strings.HasPrefix(id.CredentialID, generationPrefix) {
		return false, nil
	}
	u, err := b.st.GetUser(ctx, id.Account)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: %w", authn.ErrBackend, err)
	}
	return !u.Disabled && credentialID(u) == id.CredentialID, nil
}

// LookupUser implements authn.UserLookup: disabled users are reported as
// unknown.
func (b *Backend) LookupUser(ctx context.Context, user string) (*authn.Identity, bool, error) {
	id, d, err := b.DecideUser(ctx, user)
	return id, d == authn.Grant, err
}

// DecideUser implements authn.UserDecider: a disabled user is a deny, so
// the chain does not look further for the name.
func (b *Backend) DecideUser(ctx context.Context, user string) (*authn.Identity, authn.Decision, error) {
	u, err := b.st.GetUser(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return nil, authn.Abstain, nil
	}
	if err != nil {
		return nil, authn.Abstain, fmt.Errorf("%w: %w", authn.ErrBackend, err)
	}
	if u.Disabled {
		return nil, authn.Deny, nil
	}
	return b.identity(u), authn.Grant, nil
}
