package acl

import "strings"

// Error lists every problem New found in a set of rules, each starting
// with the field it concerns ("acl[3].match.name: ...").
type Error struct{ Problems []string }

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid acl: " + e.Problems[0]
	}
	return "invalid acl:\n  " + strings.Join(e.Problems, "\n  ")
}
