package acl

import (
	"net/netip"
	"strings"
)

// MaxNameLength bounds the resource names Authorize looks at; a longer
// name is granted nothing.
const MaxNameLength = 1024

// Authorize evaluates the rules for one requested scope. The first rule
// that matches the subject and the scope (type, name, service) decides,
// whatever actions were asked for.
func (a *ACL) Authorize(s Subject, r Request) Decision {
	if len(r.Name) > MaxNameLength {
		return Decision{Rule: -1}
	}
	typ := r.Type
	if i := strings.IndexByte(typ, '('); i >= 0 {
		typ = typ[:i] // "repository(plugin)": the class does not count
	}
	ip := s.IP.Unmap()
	for i := range a.compiled {
		c := &a.compiled[i]
		ok, err := c.matches(a.cache, &s, typ, r.Name, ip)
		if err != nil {
			// Fail closed: the rule could not be evaluated.
			return Decision{Rule: i, Comment: c.comment, Denied: true}
		}
		if !ok {
			continue
		}
		if c.deny {
			return Decision{Rule: i, Comment: c.comment, Denied: true}
		}
		return Decision{Allowed: grant(c, r.Actions), Rule: i, Comment: c.comment}
	}
	return Decision{Rule: -1}
}

func (c *compiledRule) matches(rc *regexCache, s *Subject, typ, name string, ip netip.Addr) (bool, error) {
	if c.anonymous != nil && *c.anonymous != s.Anonymous {
		return false, nil
	}
	if c.admin != nil && *c.admin != (s.Admin && !s.Anonymous) {
		return false, nil
	}
	if !c.service.matchStatic(s.Service) || !c.typ.matchStatic(typ) {
		return false, nil
	}
	if len(c.ips) > 0 && !inAny(c.ips, ip) {
		return false, nil
	}
	if c.account.kind != patAny && (s.Anonymous || !c.account.matchStatic(s.Account)) {
		return false, nil
	}
	for _, lm := range c.labels {
		if !lm.matches(s.Labels[lm.key]) {
			return false, nil
		}
	}
	if c.name.kind == patTemplate {
		return c.name.tmpl.match(rc, s, name)
	}
	return c.name.matchStatic(name), nil
}

func inAny(prefixes []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (lm *labelMatch) matches(have []string) bool {
	if len(have) == 0 {
		return false
	}
	if len(lm.values) == 0 {
		return true
	}
	for _, v := range have {
		for _, p := range lm.values {
			if p.matchStatic(v) {
				return true
			}
		}
	}
	return false
}
