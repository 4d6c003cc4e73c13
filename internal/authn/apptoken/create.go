package apptoken

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis/portcullis/internal/store"
)

// MaxNameLen is the longest token name.
const MaxNameLen = 64

// ValidateName checks a token name: 1 to 64 characters among letters,
// digits, '.', '_' and '-'.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return invalid("token name must be 1 to %d characters long", MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isBase62(c) && c != '.' && c != '_' && c != '-' {
			return invalid("token name %q: use letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// MaxOwnerLen is the longest owner name (the store's bound on names).
const MaxOwnerLen = 256

// ValidateOwner checks the name of a token's owner given to the CLI or the
// admin API. Owners are users of any backend, named as that backend names
// them (an e-mail address in htpasswd, LDAP's mail as account attribute),
// so the rule for database user names does not apply; only names no
// backend would hold are refused: empty, longer than MaxOwnerLen bytes,
// invalid UTF-8, control characters, surrounding spaces.
func ValidateOwner(name string) error {
	if name == "" || len(name) > MaxOwnerLen || !utf8.ValidString(name) || strings.TrimSpace(name) != name ||
		strings.ContainsFunc(name, unicode.IsControl) {
		return invalid("user name %q: must be 1 to %d bytes of printable UTF-8, without surrounding spaces", name, MaxOwnerLen)
	}
	return nil
}

// Create makes a token for user and returns it; it is the only time the
// token is seen, the store keeps its hash. expires zero means never. At
// most max tokens per user (max <= 0: no cap). The caller checks that the
// user exists.
func Create(ctx context.Context, st store.AppTokenStore, user, name string, scopes []string, expires time.Time, max int) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	if err := ValidateScopes(scopes); err != nil {
		return "", err
	}
	if !expires.IsZero() && !expires.After(time.Now()) {
		return "", invalid("the expiry %s is in the past", expires.Format(time.RFC3339))
	}
	token, hash, err := Generate()
	if err != nil {
		return "", err
	}
	err = st.CreateAppToken(ctx, store.AppToken{
		User: user, Name: name, Hash: hash, Scopes: scopes, ExpiresAt: expires,
	}, max)
	switch {
	case errors.Is(err, store.ErrLimitReached):
		return "", &userError{
			msg: fmt.Sprintf("user %s already has %d app tokens (the maximum); revoke one with `portcullis apptoken revoke`", user, max),
			err: err,
		}
	case errors.Is(err, store.ErrAlreadyExists):
		return "", &userError{msg: fmt.Sprintf("a token named %s already exists", name), err: err}
	case err != nil:
		return "", fmt.Errorf("create app token: %w", err)
	}
	return token, nil
}
