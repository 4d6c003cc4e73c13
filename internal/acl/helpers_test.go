package acl

import (
	"net/netip"
	"strings"
	"testing"
)

func ptr(b bool) *bool { return &b }

// req parses "type:name:a,b" for tests (the name may hold host:port).
func req(t testing.TB, scope string) Request {
	t.Helper()
	i := strings.IndexByte(scope, ':')
	j := strings.LastIndexByte(scope, ':')
	if i < 0 || j <= i {
		t.Fatalf("bad test scope %q", scope)
	}
	r := Request{Type: scope[:i], Name: scope[i+1 : j]}
	if k := strings.IndexByte(r.Type, '('); k >= 0 {
		r.Class = strings.TrimSuffix(r.Type[k+1:], ")")
		r.Type = r.Type[:k]
	}
	if acts := scope[j+1:]; acts != "" {
		r.Actions = strings.Split(acts, ",")
	}
	return r
}

func user(name string) Subject {
	return Subject{Account: name, IP: netip.MustParseAddr("10.1.2.3"), Service: "registry"}
}

func anon() Subject {
	return Subject{Anonymous: true, IP: netip.MustParseAddr("10.1.2.3"), Service: "registry"}
}

func mustNew(t testing.TB, rules []Rule) *ACL {
	t.Helper()
	a, err := New(rules)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func allow(m Match, actions ...string) Rule { return Rule{Match: m, Actions: actions} }

func deny(m Match) Rule { return Rule{Match: m, Deny: true} }

func join(s []string) string { return strings.Join(s, ",") }
