// Package authn turns credentials into identities. Authenticators (one
// folder per backend: static, htpasswd, dbuser, apptoken, ldap) are run as an
// ordered chain in which each one grants, denies or abstains; the first
// grant or deny ends the chain.
package authn

import (
	"context"
	"errors"
	"net/netip"
)

// Decision is what one authenticator says about a set of credentials.
type Decision int

const (
	// Abstain means the authenticator does not know the user; the chain goes on.
	Abstain Decision = iota
	// Grant means the credentials are valid; Result.Identity is set.
	Grant
	// Deny means the user is known and the credentials are wrong (or the
	// account is disabled); the chain stops with a 401.
	Deny
)

func (d Decision) String() string {
	switch d {
	case Grant:
		return "grant"
	case Deny:
		return "deny"
	default:
		return "abstain"
	}
}

// Kind says what sort of secret proved an identity. Some surfaces accept
// only some kinds: app tokens work for registry logins, never for the admin
// API or the web UI.
type Kind string

const (
	KindPassword     Kind = "password"
	KindAppToken     Kind = "apptoken"
	KindRefreshToken Kind = "refresh_token"
	KindAnonymous    Kind = "anonymous"
)

// Identity is an authenticated account.
type Identity struct {
	Account string
	// Labels are attributes (for example LDAP groups) that ACL rules match
	// on and substitute with ${labels:KEY}.
	Labels map[string][]string
	Admin  bool
	// Source is the name of the authenticator that granted.
	Source string
	Kind   Kind
	// Scopes, when not empty, restrict what this credential may ever be
	// granted (app tokens): the ACL result is intersected with them.
	Scopes []string
	// CredentialID names the credential (app token name, refresh token id)
	// for logs and audit; never the secret.
	CredentialID string
}

// Credentials is what a client presented.
type Credentials struct {
	Username string
	Password string
	// RemoteAddr is the client's address, for ACL matching and "last used".
	RemoteAddr netip.Addr
}

// Result is an authenticator's answer.
type Result struct {
	Decision Decision
	Identity *Identity // set when Decision == Grant
	// Reason is a short, secret-free explanation for logs ("wrong password",
	// "account disabled", "unknown user").
	Reason string
	// Public, when set, is what the client may be told instead of "wrong
	// user name or password": only what it could not learn about accounts
	// it does not hold, that is, once it has shown the right password or
	// a token that exists ("account disabled", "app token expired").
	Public string
	// Hashed reports that the authenticator ran a password hash (real or
	// against a dummy) for this attempt. When no authenticator knows a user
	// and none hashed, the chain hashes against a dummy itself, so an
	// unknown user costs the same time as a wrong password.
	Hashed bool
}

// Authenticator is one backend in the chain. An error means the backend
// could not decide (directory down, database unreachable); it is never a
// grant.
type Authenticator interface {
	Name() string
	Authenticate(ctx context.Context, c Credentials) (Result, error)
}

// Cacheable is implemented by authenticators whose grants may be kept in
// the verified-credential cache (password backends whose check is
// expensive). Backends that do not implement it are asked every time.
type Cacheable interface {
	// Revalidate is called on a cache hit; it answers whether the cached
	// identity is still allowed (user not disabled, password unchanged). It
	// must be cheap: no bcrypt, no directory bind.
	Revalidate(ctx context.Context, id *Identity) (bool, error)
}

// Watcher is implemented by authenticators whose users change at run time
// (files reloaded, database edits); they report changed user names so the
// cache can drop them.
type Watcher interface {
	// SetInvalidator registers the function to call with a user name whose
	// entry changed ("" means every user).
	SetInvalidator(func(user string))
}

// UserLookup is implemented by authenticators that can describe a user
// without a password (static, htpasswd, database users). Refresh tokens
// are only issued for users whose backend can be asked again later, so a
// user removed from the backend loses their refresh tokens at once.
type UserLookup interface {
	// LookupUser returns the user's identity, or ok=false when the backend
	// does not know the user or the account is disabled.
	LookupUser(ctx context.Context, user string) (id *Identity, ok bool, err error)
}

// UserDecider is implemented by UserLookup backends that can tell a user
// they hold but refuse (disabled, locked, ambiguous) from a name they do
// not hold. A lookup through the chain then stops at the first backend
// that knows the name, as Authenticate stops at the first grant or deny:
// a user disabled in one backend is not found instead in a later one that
// happens to know the same name (whose tokens would then work again).
type UserDecider interface {
	// DecideUser answers Grant with the user's identity, Deny for a user
	// the backend holds and refuses, Abstain for a name it does not hold.
	DecideUser(ctx context.Context, user string) (*Identity, Decision, error)
}

// LookupLimited is implemented by authenticators that implement UserLookup
// but can look users up only in some configurations (LDAP without a
// service account cannot read the directory without the user's password).
type LookupLimited interface {
	// CanLookupUsers reports whether LookupUser can ever find a user.
	CanLookupUsers() bool
}

// ErrBackend wraps failures of a backend (as opposed to wrong credentials).
var ErrBackend = errors.New("authentication backend unavailable")
