package dbuser

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// MaxPasswordBytes is bcrypt's limit: it ignores (older libraries) or
// refuses (newer ones) anything beyond 72 bytes, so longer passwords are
// refused up front rather than silently truncated.
const MaxPasswordBytes = 72

// Errors of HashPassword; callers may show them to users.
var (
	ErrEmptyPassword   = errors.New("the password must not be empty")
	ErrPasswordTooLong = fmt.Errorf("the password is longer than %d bytes (bcrypt's limit)", MaxPasswordBytes)
)

// HashPassword returns the bcrypt hash of pw at cost.
func HashPassword(pw string, cost int) ([]byte, error) {
	switch {
	case pw == "":
		return nil, ErrEmptyPassword
	case len(pw) > MaxPasswordBytes:
		return nil, ErrPasswordTooLong
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}
