// Package static authenticates users defined in the configuration file,
// each with a bcrypt hash, an admin flag and labels.
package static

import (
	"context"
	"fmt"
	"maps"

	"github.com/portcullis/portcullis/internal/authn"
	"golang.org/x/crypto/bcrypt"
)

// User is one configured user.
type User struct {
	Hash   []byte
	Admin  bool
	Labels map[string][]string
}

// Backend authenticates against a fixed set of users.
type Backend struct {
	name  string
	users map[string]User
	// pad makes a wrong password cost what an unknown name costs.
	pad *authn.CostPadder
}

var (
	_ authn.Authenticator = (*Backend)(nil)
	_ authn.Cacheable     = (*Backend)(nil)
	_ authn.UserLookup    = (*Backend)(nil)
)

// New checks every hash and builds the backend.
func New(name string, users map[string]User) (*Backend, error) {
	for n, u := range users {
		if _, err := bcrypt.Cost(u.Hash); err != nil {
			return nil, fmt.Errorf("user %s: password is not a bcrypt hash: %w", n, err)
		}
	}
	return &Backend{name: name, users: maps.Clone(users)}, nil
}

// Name implements authn.Authenticator.
func (b *Backend) Name() string { return b.name }

// SetBcryptCost sets authn.bcrypt_cost: a wrong password for a user whose
// hash is cheaper is padded up to it, as an unknown name costs a compare
// at it. It must be called before the backend serves requests.
func (b *Backend) SetBcryptCost(cost int) { b.pad = authn.NewCostPadder(cost) }

// Authenticate implements authn.Authenticator. An unknown user abstains
// without hashing; the chain compares against a dummy hash when nobody
// knows the user.
func (b *Backend) Authenticate(_ context.Context, c authn.Credentials) (authn.Result, error) {
	u, ok := b.users[c.Username]
	if !ok {
		return authn.Result{Decision: authn.Abstain}, nil
	}
	if err := bcrypt.CompareHashAndPassword(u.Hash, []byte(c.Password)); err != nil {
		b.pad.Pad(u.Hash, c.Password)
		return authn.Result{Decision: authn.Deny, Reason: "wrong password", Hashed: true}, nil
	}
	return authn.Result{Decision: authn.Grant, Identity: b.identity(c.Username, u), Hashed: true}, nil
}

func (b *Backend) identity(name string, u User) *authn.Identity {
	return &authn.Identity{Account: name, Admin: u.Admin, Labels: u.Labels, Source: b.name, Kind: authn.KindPassword}
}

// Revalidate implements authn.Cacheable; static users change only with a
// restart, so a cached grant stays valid.
func (b *Backend) Revalidate(context.Context, *authn.Identity) (bool, error) { return true, nil }

// LookupUser implements authn.UserLookup.
func (b *Backend) LookupUser(_ context.Context, user string) (*authn.Identity, bool, error) {
	u, ok := b.users[user]
	if !ok {
		return nil, false, nil
	}
	return b.identity(user, u), true, nil
}
