package config

import (
	"errors"
	"fmt"
	"strings"
)

// Validator collects every problem of a configuration, each naming the
// field, so that one run of `portcullis serve --check-config` shows them all.
type Validator struct {
	errs []string
}

// Errorf records a problem with the field at path (dotted YAML keys, e.g.
// "token.keys[1].alg").
func (v *Validator) Errorf(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

// Err returns all recorded problems as one error, or nil.
func (v *Validator) Err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return &Error{Problems: v.errs}
}

// Error lists every problem found in a configuration.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0]
	}
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// IsError reports whether err is a configuration error.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
