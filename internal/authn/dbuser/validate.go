package dbuser

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Limits on names and labels given to the API and the CLI.
const (
	MaxNameLen       = 64
	MaxLabelKeys     = 32
	MaxLabelValues   = 32
	MaxLabelKeyLen   = 64
	MaxLabelValueLen = 256
)

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("invalid")

type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// ValidateName checks a user name: 1 to 64 characters among letters,
// digits, '.', '_' and '-', starting with a letter or digit. Names end up
// in repository paths through ${account}, so nothing else is allowed.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return invalid("user name must be 1 to %d characters long", MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return invalid("user name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
		}
	}
	return nil
}

// ValidateLabels checks label keys and values: bounded in number and
// length, printable UTF-8.
func ValidateLabels(labels map[string][]string) error {
	if len(labels) > MaxLabelKeys {
		return invalid("at most %d label keys", MaxLabelKeys)
	}
	for k, vs := range labels {
		if k == "" || len(k) > MaxLabelKeyLen || !printable(k) {
			return invalid("label key %q: must be 1 to %d printable characters", k, MaxLabelKeyLen)
		}
		if len(vs) > MaxLabelValues {
			return invalid("label %q: at most %d values", k, MaxLabelValues)
		}
		for _, v := range vs {
			if len(v) > MaxLabelValueLen || !printable(v) {
				return invalid("label %q: values must be at most %d printable characters", k, MaxLabelValueLen)
			}
		}
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
