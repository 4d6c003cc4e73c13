package apptoken

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every validation error (name, scopes, expiry):
// the request is wrong, not the server.
var ErrInvalid = errors.New("invalid")

type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// userError carries a message meant for people while still matching a
// store error with errors.Is.
type userError struct {
	msg string
	err error
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.err }
