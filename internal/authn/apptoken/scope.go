package apptoken

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Limits on scopes of a token.
const (
	MaxScopes       = 16
	MaxScopeNameLen = 255
)

// Actions a token scope may name.
var scopeActions = []string{"pull", "push", "delete", "*"}

// tokenScope is a parsed scope "repository:NAME-GLOB:ACTIONS".
type tokenScope struct {
	glob    string
	actions []string
}

// parseScope reads repository:NAME-GLOB:ACTION[,ACTION]. The glob may hold
// a host:port, so the type ends at the first ':' and the actions start
// after the last one.
func parseScope(s string) (tokenScope, error) {
	typ, rest, ok := strings.Cut(s, ":")
	last := strings.LastIndexByte(rest, ':')
	if !ok || last < 0 {
		return tokenScope{}, fmt.Errorf("scope %q: want repository:NAME:ACTIONS (for example repository:alice/*:pull)", s)
	}
	if typ != "repository" {
		return tokenScope{}, fmt.Errorf("scope %q: only repository scopes can be given to app tokens", s)
	}
	sc := tokenScope{glob: rest[:last]}
	if sc.glob == "" || len(sc.glob) > MaxScopeNameLen {
		return tokenScope{}, fmt.Errorf("scope %q: the name must be 1 to %d characters", s, MaxScopeNameLen)
	}
	for i := 0; i < len(sc.glob); i++ {
		c := sc.glob[i]
		if !isBase62(c) && !strings.ContainsRune("._-/:*", rune(c)) {
			return tokenScope{}, fmt.Errorf("scope %q: the name may hold letters, digits, '.', '_', '-', '/', ':' and the wildcards * and **", s)
		}
	}
	if strings.Contains(sc.glob, "***") {
		return tokenScope{}, fmt.Errorf("scope %q: use * (one path segment) or ** (any depth), not ***", s)
	}
	for _, a := range strings.Split(rest[last+1:], ",") {
		if !slices.Contains(scopeActions, a) {
			return tokenScope{}, fmt.Errorf("scope %q: unknown action %q (use pull, push, delete or *)", s, a)
		}
		if !slices.Contains(sc.actions, a) {
			sc.actions = append(sc.actions, a)
		}
	}
	return sc, nil
}

// ValidateScopes checks the scopes given to a new token.
func ValidateScopes(scopes []string) error {
	if len(scopes) > MaxScopes {
		return invalid("at most %d scopes per token", MaxScopes)
	}
	for _, s := range scopes {
		if _, err := parseScope(s); err != nil {
			return &invalidError{msg: err.Error()}
		}
	}
	return nil
}

// globRegexp translates a name glob: '*' matches within one path segment,
// '**' across segments ("a/**" needs something after "a/"; "**/" at the
// start of a segment may also match no segment at all). RE2 matching is
// linear, so hostile globs cannot make it slow.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); {
		if glob[i] != '*' {
			j := strings.IndexByte(glob[i:], '*')
			if j < 0 {
				j = len(glob) - i
			}
			b.WriteString(regexp.QuoteMeta(glob[i : i+j]))
			i += j
			continue
		}
		if i+1 < len(glob) && glob[i+1] == '*' {
			segStart := i == 0 || glob[i-1] == '/'
			switch {
			case segStart && i+2 < len(glob) && glob[i+2] == '/':
				b.WriteString(`(?:.*/)?`)
				i += 3
			case i > 0 && glob[i-1] == '/' && i+2 == len(glob):
				b.WriteString(`.+`)
				i += 2
			default:
				b.WriteString(`.*`)
				i += 2
			}
			continue
		}
		b.WriteString(`[^/]*`)
		i++
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// ScopeAllows returns the subset of actions on the resource typ:name that
// the token scopes permit, in the order asked. A requested "*" (the ACL
// granted everything) becomes the actions the scopes name. Only
// repository resources can match; scopes that do not parse match nothing.
// It has the signature of token.ScopeLimiter.
func ScopeAllows(scopes []string, typ, name string, actions []string) []string {
	if typ != "repository" || len(actions) == 0 {
		return nil
	}
	var permitted []string // actions the matching scopes allow
	for _, s := range scopes {
		sc, err := parseScope(s)
		if err != nil {
			continue
		}
		re, err := globRegexp(sc.glob)
		if err != nil || !re.MatchString(name) {
			continue
		}
		for _, a := range sc.actions {
			if !slices.Contains(permitted, a) {
				permitted = append(permitted, a)
			}
		}
	}
	if len(permitted) == 0 {
		return nil
	}
	all := slices.Contains(permitted, "*")
	var out []string
	add := func(a string) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range actions {
		switch {
		case a == "*" && all:
			add("*")
		case a == "*":
			for _, p := range permitted {
				add(p)
			}
		case all || slices.Contains(permitted, a):
			add(a)
		}
	}
	return out
}
