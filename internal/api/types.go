package api

import (
	"time"

	"github.com/portcullis/portcullis/internal/store"
)

// AppToken describes an app token; never its secret.
type AppToken struct {
	User         string     `json:"user"`
	Name         string     `json:"name"`
	Scopes       []string   `json:"scopes"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    *time.Time `json:"expires_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	LastUsedAddr string     `json:"last_used_addr,omitempty"`
}

// CreatedAppToken is the answer to a creation: the only time the secret
// is shown.
type CreatedAppToken struct {
	AppToken
	Token string `json:"token"`
}

// CreateAppTokenRequest is the body of POST .../apptokens.
type CreateAppTokenRequest struct {
	Name string `json:"name"`
	// Expires is a lifetime ("90d", "2w", "12h") or "never"; empty means
	// the server's default.
	Expires string   `json:"expires"`
	Scopes  []string `json:"scopes"`
}

// Session is a refresh token (docker login's identity token); never its
// secret.
type Session struct {
	ID           string     `json:"id"`
	User         string     `json:"user"`
	ClientID     string     `json:"client_id"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    *time.Time `json:"expires_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	LastUsedAddr string     `json:"last_used_addr,omitempty"`
}

// User is a database user; never the password hash.
type User struct {
	Name      string              `json:"name"`
	Admin     bool                `json:"admin"`
	Disabled  bool                `json:"disabled"`
	Labels    map[string][]string `json:"labels"`
	CreatedAt time.Time           `json:"created_at"`
	UpdatedAt time.Time           `json:"updated_at"`
}

// CreateUserRequest is the body of POST /api/v1/users.
type CreateUserRequest struct {
	Name     string              `json:"name"`
	Password string              `json:"password"`
	Admin    bool                `json:"admin"`
	Labels   map[string][]string `json:"labels"`
}

// UpdateUserRequest is the body of PATCH /api/v1/users/{user}; absent
// fields stay as they are.
type UpdateUserRequest struct {
	Password *string             `json:"password"`
	Admin    *bool               `json:"admin"`
	Disabled *bool               `json:"disabled"`
	Labels   map[string][]string `json:"labels"`
}

// Me describes the caller.
type Me struct {
	Account string              `json:"account"`
	Admin   bool                `json:"admin"`
	Source  string              `json:"source"`
	Labels  map[string][]string `json:"labels"`
}

// Revoked answers a bulk revocation.
type Revoked struct {
	Revoked int `json:"revoked"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func appTokenJSON(t store.AppToken) AppToken {
	sc := t.Scopes
	if sc == nil {
		sc = []string{}
	}
	return AppToken{
		User: t.User, Name: t.Name, Scopes: sc, CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: optTime(t.ExpiresAt), LastUsedAt: optTime(t.LastUsedAt), LastUsedAddr: t.LastUsedAddr,
	}
}

func sessionJSON(s store.RefreshToken) Session {
	return Session{
		ID: s.ID, User: s.User, ClientID: s.ClientID, CreatedAt: s.CreatedAt.UTC(),
		ExpiresAt: optTime(s.ExpiresAt), LastUsedAt: optTime(s.LastUsedAt), LastUsedAddr: s.LastUsedAddr,
	}
}

func userJSON(u store.User) User {
	l := u.Labels
	if l == nil {
		l = map[string][]string{}
	}
	return User{Name: u.Name, Admin: u.Admin, Disabled: u.Disabled, Labels: l, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}
