// Package store is Portcullis' persistent state: database users, application
// tokens, refresh tokens, engine gateway tokens, API keys and the replay
// cache of the API-key gateway. Implementations live in sub-folders
// (sqlite, postgres) and all run the conformance suite in storetest.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors shared by every implementation; callers test with errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	// ErrLimitReached is returned when a per-user cap (app tokens) is hit.
	ErrLimitReached = errors.New("limit reached")
	// ErrLastAdmin is returned by UpdateUser and DeleteUser when the change
	// would remove, disable or demote the last enabled administrator,
	// locking everyone out of user management.
	ErrLastAdmin = errors.New("the last enabled administrator cannot be removed, disabled or demoted; make another user an administrator first")
)

// User is a database user.
type User struct {
	Name         string
	PasswordHash []byte // bcrypt
	Admin        bool
	Disabled     bool
	Labels       map[string][]string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Generation increases on every change of password, admin flag,
	// disabled flag or labels; caches compare it to notice changes.
	Generation int64
}

// UserUpdate changes selected fields of a user; nil fields stay as they are.
type UserUpdate struct {
	PasswordHash []byte
	Admin        *bool
	Disabled     *bool
	Labels       map[string][]string // nil = unchanged; empty map = clear
}

// AppToken is an application token: a named, revocable secret used as a
// password for registry logins. Only the SHA-256 of the secret is stored.
type AppToken struct {
	User      string
	Name      string
	Hash      []byte // SHA-256 of the whole token string, 32 bytes
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time // zero = never
	// LastUsedAt and LastUsedAddr are kept up to date lazily (coalesced).
	LastUsedAt   time.Time
	LastUsedAddr string
}

// Usage is one observed use of a credential, applied in batches.
type Usage struct {
	Hash []byte
	At   time.Time
	Addr string
}

// RefreshToken is an OAuth2 refresh token of the registry token protocol
// (docker's "identitytoken"). Only the SHA-256 of the secret is stored.
type RefreshToken struct {
	ID           string // short public handle for listing and revoking
	User         string
	ClientID     string
	Hash         []byte
	CreatedAt    time.Time
	ExpiresAt    time.Time // zero = never
	LastUsedAt   time.Time
	LastUsedAddr string
}

// EngineToken is a token of the Docker Engine API gateway.
type EngineToken struct {
	Name       string
	Hash       []byte // SHA-256 of the token string
	Policy     string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero = never
	LastUsedAt time.Time
}

// APIKey is a client key of the HMAC API-key gateway. The secret must be
// kept in a usable form because the gateway computes HMACs with it.
type APIKey struct {
	ID        string
	Secret    string // 64 lowercase hex characters, used as ASCII bytes
	Groups    []string
	CreatedAt time.Time
}

// Store is the whole persistent state.
type Store interface {
	UserStore
	AppTokenStore
	RefreshTokenStore
	EngineTokenStore
	APIKeyStore
	ReplayStore
	// Ping checks the connection (readiness).
	Ping(ctx context.Context) error
	Close() error
}

type UserStore interface {
	CreateUser(ctx context.Context, u User) error // ErrAlreadyExists
	GetUser(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser applies upd and bumps Generation. A password change also
	// deletes the user's refresh tokens, in the same transaction. Disabling
	// or demoting the last enabled administrator is ErrLastAdmin, decided
	// in the same transaction, so two concurrent changes cannot both pass.
	UpdateUser(ctx context.Context, name string, upd UserUpdate) (User, error)
	// DeleteUser removes the user with all their tokens (ErrLastAdmin as
	// for UpdateUser).
	DeleteUser(ctx context.Context, name string) error
	CountAdmins(ctx context.Context) (int, error)
}

type AppTokenStore interface {
	// CreateAppToken stores t unless the user already has max tokens
	// (ErrLimitReached) or one with the same name (ErrAlreadyExists). The
	// user must exist in the store or be known elsewhere (static, LDAP):
	// the store does not check.
	CreateAppToken(ctx context.Context, t AppToken, max int) error
	GetAppTokenByHash(ctx context.Context, hash []byte) (AppToken, error)
	// ListAppTokens lists one user's tokens, or everyone's for user "".
	ListAppTokens(ctx context.Context, user string) ([]AppToken, error)
	DeleteAppToken(ctx context.Context, user, name string) error
	// TouchAppTokens records last use; unknown hashes are ignored.
	TouchAppTokens(ctx context.Context, uses []Usage) error
}

// MaxRefreshTokensPerUser bounds a user's sessions. Each login with a
// password may create one, so CreateRefreshToken makes room: it deletes
// the user's expired refresh tokens and, at the bound, the least recently
// used one.
const MaxRefreshTokensPerUser = 100

type RefreshTokenStore interface {
	// CreateRefreshToken stores t, first deleting the user's expired
	// tokens and, when the user has MaxRefreshTokensPerUser, the least
	// recently used (or, never used, oldest) one.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	GetRefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error)
	ListRefreshTokens(ctx context.Context, user string) ([]RefreshToken, error)
	DeleteRefreshToken(ctx context.Context, user, id string) error
	// DeleteRefreshTokens removes all of a user's refresh tokens and
	// returns how many there were.
	DeleteRefreshTokens(ctx context.Context, user string) (int, error)
	TouchRefreshTokens(ctx context.Context, uses []Usage) error
}

type EngineTokenStore interface {
	CreateEngineToken(ctx context.Context, t EngineToken) error
	GetEngineTokenByHash(ctx context.Context, hash []byte) (EngineToken, error)
	ListEngineTokens(ctx context.Context) ([]EngineToken, error)
	// ReplaceEngineTokenHash is rotation: the old secret stops working.
	ReplaceEngineTokenHash(ctx context.Context, name string, hash []byte) error
	DeleteEngineToken(ctx context.Context, name string) error
	TouchEngineTokens(ctx context.Context, uses []Usage) error
}

type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, k APIKey) error
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	DeleteAPIKey(ctx context.Context, id string) error
}

// ReplayStore remembers one-time values (API-key gateway token signatures)
// across instances.
type ReplayStore interface {
	// ClaimOnce records key until expires and reports true, or reports
	// false when key is already recorded and not yet expired.
	ClaimOnce(ctx context.Context, key string, expires time.Time) (bool, error)
	// PurgeExpired forgets keys whose expiry has passed.
	PurgeExpired(ctx context.Context) error
}

// Options are common to every implementation.
type Options struct {
	// Now is the clock; nil means time.Now. Tests move it to expire things
	// without sleeping.
	Now func() time.Time
}
