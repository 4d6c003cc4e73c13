package token

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on untrusted input, checked before anything else is done with it.
const (
	MaxScopes       = 64
	maxScopeLen     = 1024
	maxNameLen      = 512
	maxActions      = 16
	maxParamLen     = 256
	maxFormBodySize = 64 << 10
)

// Scope is one requested resource: type[(class)]:name:action[,action]*.
type Scope struct {
	Type    string
	Class   string
	Name    string
	Actions []string
}

// String renders the scope in the protocol's grammar.
func (s Scope) String() string {
	t := s.Type
	if s.Class != "" {
		t += "(" + s.Class + ")"
	}
	return t + ":" + s.Name + ":" + strings.Join(s.Actions, ",")
}

// ParseScope parses one scope. The name may itself contain colons (a
// registry host:port prefix), so the type ends at the first colon and the
// actions start after the last one.
func ParseScope(s string) (Scope, error) {
	if len(s) > maxScopeLen {
		return Scope{}, fmt.Errorf("scope longer than %d bytes", maxScopeLen)
	}
	first := strings.IndexByte(s, ':')
	last := strings.LastIndexByte(s, ':')
	if first < 0 || first == last {
		return Scope{}, fmt.Errorf("scope %q: want type:name:actions", s)
	}
	var sc Scope
	typ := s[:first]
	sc.Name = s[first+1 : last]
	acts := s[last+1:]
	if open := strings.IndexByte(typ, '('); open >= 0 {
		if !strings.HasSuffix(typ, ")") || open == 0 {
			return Scope{}, fmt.Errorf("scope %q: malformed resource class", s)
		}
		sc.Class = typ[open+1 : len(typ)-1]
		typ = typ[:open]
		if !isToken(sc.Class) {
			return Scope{}, fmt.Errorf("scope %q: malformed resource class", s)
		}
	}
	if !isToken(typ) {
		return Scope{}, fmt.Errorf("scope %q: malformed resource type", s)
	}
	sc.Type = typ
	if sc.Name == "" || len(sc.Name) > maxNameLen {
		return Scope{}, fmt.Errorf("scope %q: resource name must be 1 to %d bytes", s, maxNameLen)
	}
	for i := 0; i < len(sc.Name); i++ {
		if c := sc.Name[i]; c <= ' ' || c == 0x7f || c == ',' {
			return Scope{}, fmt.Errorf("scope %q: invalid character in resource name", s)
		}
	}
	if acts == "" {
		return Scope{}, fmt.Errorf("scope %q: no actions", s)
	}
	for _, a := range strings.Split(acts, ",") {
		if a == "" {
			continue
		}
		if a != "*" && !isToken(a) {
			return Scope{}, fmt.Errorf("scope %q: malformed action %q", s, a)
		}
		if !contains(sc.Actions, a) {
			sc.Actions = append(sc.Actions, a)
		}
		if len(sc.Actions) > maxActions {
			return Scope{}, fmt.Errorf("scope %q: too many actions", s)
		}
	}
	if len(sc.Actions) == 0 {
		return Scope{}, fmt.Errorf("scope %q: no actions", s)
	}
	return sc, nil
}

// ParseScopes parses every scope in values; each value may hold several
// scopes separated by spaces (the OCI conformance client and OAuth2 POST
// bodies send them that way). Scopes naming the same resource are merged.
func ParseScopes(values []string) ([]Scope, error) {
	var out []Scope
	for _, v := range values {
		for _, f := range strings.Fields(v) {
			sc, err := ParseScope(f)
			if err != nil {
				return nil, err
			}
			merged := false
			for i := range out {
				if out[i].Type == sc.Type && out[i].Class == sc.Class && out[i].Name == sc.Name {
					for _, a := range sc.Actions {
						if !contains(out[i].Actions, a) {
							out[i].Actions = append(out[i].Actions, a)
						}
					}
					// The merged scope has the bound of one scope; without
					// it a request of many one-action scopes on one name
					// built an action list of thousands.
					if len(out[i].Actions) > maxActions {
						return nil, fmt.Errorf("scope %q: too many actions", out[i].Type+":"+out[i].Name)
					}
					merged = true
					break
				}
			}
			if !merged {
				if len(out) >= MaxScopes {
					return nil, errors.New("too many scopes in one request")
				}
				out = append(out, sc)
			}
		}
	}
	return out, nil
}

// isToken reports whether s is a non-empty run of lower-case letters,
// digits and the separators the distribution grammar allows in types.
func isToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
