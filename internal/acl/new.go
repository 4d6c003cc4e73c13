package acl

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// ACL is a compiled, immutable rule list; it is safe for concurrent use.
type ACL struct {
	rules    []Rule
	compiled []compiledRule
	cache    *regexCache
}

type compiledRule struct {
	anonymous, admin *bool
	account          *pattern
	typ              *pattern
	name             *pattern
	service          *pattern
	ips              []netip.Prefix
	labels           []labelMatch
	actions          []string
	all              bool
	deny             bool
	comment          string
}

type labelMatch struct {
	key    string
	values []*pattern // empty: the key must be present
}

// New validates and compiles rules. It reports every problem at once in
// an *Error, each naming its field ("acl[3].match.name: invalid regex").
func New(rules []Rule) (*ACL, error) {
	a := &ACL{rules: cloneRules(rules), cache: newRegexCache()}
	var problems []string
	bad := func(i int, field, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("acl[%d].%s: ", i, field)+fmt.Sprintf(format, args...))
	}
	for i, r := range rules {
		c := compiledRule{
			anonymous: r.Match.Anonymous,
			admin:     r.Match.Admin,
			deny:      r.Deny,
			comment:   r.Comment,
		}
		pat := func(field, s string, allowPH bool) *pattern {
			p, err := compilePattern(s, allowPH)
			if err != nil {
				bad(i, field, "%v", err)
				return &pattern{kind: patAny}
			}
			return p
		}
		c.account = pat("match.account", r.Match.Account, false)
		c.typ = pat("match.type", r.Match.Type, false)
		c.name = pat("match.name", r.Match.Name, true)
		c.service = pat("match.service", r.Match.Service, false)
		if r.Match.Anonymous != nil && *r.Match.Anonymous {
			if r.Match.Account != "" {
				bad(i, "match.account", "never matches together with anonymous: true")
			}
			if r.Match.Admin != nil && *r.Match.Admin {
				bad(i, "match.admin", "never matches together with anonymous: true")
			}
		}
		for j, s := range r.Match.IP {
			p, err := parseIP(s)
			if err != nil {
				bad(i, fmt.Sprintf("match.ip[%d]", j), "%v", err)
				continue
			}
			c.ips = append(c.ips, p)
		}
		keys := make([]string, 0, len(r.Match.Labels))
		for k := range r.Match.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "" {
				bad(i, "match.labels", "empty label name")
				continue
			}
			lm := labelMatch{key: k}
			for j, v := range r.Match.Labels[k] {
				if v == "" {
					bad(i, fmt.Sprintf("match.labels.%s[%d]", k, j), "empty value (use an empty list to require only the label)")
					continue
				}
				lm.values = append(lm.values, pat(fmt.Sprintf("match.labels.%s[%d]", k, j), v, false))
			}
			c.labels = append(c.labels, lm)
		}
		switch {
		case r.Deny && len(r.Actions) > 0:
			bad(i, "actions", "a deny rule grants nothing; remove actions")
		case !r.Deny && len(r.Actions) == 0:
			bad(i, "actions", "empty; to refuse access write deny: true")
		}
		for _, act := range r.Actions {
			switch {
			case r.Match.Type == TypeRegistry && !knownAction(r.Match.Type, act):
				bad(i, "actions", "action %q does not apply to type registry (use \"*\")", act)
			case !knownAction(r.Match.Type, act):
				bad(i, "actions", "unknown action %q (use pull, push, delete or \"*\")", act)
			case act == ActionAll:
				c.all = true
			default:
				c.actions = append(c.actions, act)
			}
		}
		a.compiled = append(a.compiled, c)
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return a, nil
}

// parseIP accepts a CIDR or a single address; zones are refused because
// a client address never carries one that could be trusted.
func parseIP(s string) (netip.Prefix, error) {
	if strings.Contains(s, "%") {
		return netip.Prefix{}, fmt.Errorf("%q: zones are not allowed", s)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR or address: %q", s)
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("%q: write IPv4-mapped networks as IPv4", s)
		}
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not a CIDR or address: %q", s)
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// Rules returns a copy of the rules the ACL was built from.
func (a *ACL) Rules() []Rule { return cloneRules(a.rules) }

func cloneRules(rules []Rule) []Rule {
	if rules == nil {
		return nil
	}
	out := make([]Rule, len(rules))
	for i, r := range rules {
		r.Actions = append([]string(nil), r.Actions...)
		r.Match.IP = append([]string(nil), r.Match.IP...)
		if r.Match.Anonymous != nil {
			v := *r.Match.Anonymous
			r.Match.Anonymous = &v
		}
		if r.Match.Admin != nil {
			v := *r.Match.Admin
			r.Match.Admin = &v
		}
		if r.Match.Labels != nil {
			m := make(map[string][]string, len(r.Match.Labels))
			for k, v := range r.Match.Labels {
				m[k] = append([]string(nil), v...)
			}
			r.Match.Labels = m
		}
		out[i] = r
	}
	return out
}
