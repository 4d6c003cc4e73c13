package acl

import (
	"errors"
	"strings"
	"testing"
)

func TestNewReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		want []string // each must appear in one problem, in order
	}{
		{"unknown action", Rule{Actions: []string{"pul"}}, []string{`acl[0].actions: unknown action "pul"`}},
		{"empty actions", Rule{}, []string{"acl[0].actions: empty; to refuse access write deny: true"}},
		{"deny with actions", Rule{Deny: true, Actions: []string{"pull"}}, []string{"acl[0].actions: a deny rule grants nothing"}},
		{"registry action", Rule{Match: Match{Type: "registry"}, Actions: []string{"pull"}}, []string{`acl[0].actions: action "pull" does not apply to type registry`}},
		{"bad name regex", Rule{Match: Match{Name: "/a(/"}, Actions: []string{"pull"}}, []string{"acl[0].match.name: invalid regex"}},
		{"empty regex", Rule{Match: Match{Name: "//"}, Actions: []string{"pull"}}, []string{"acl[0].match.name: empty regex"}},
		{"bad account regex", Rule{Match: Match{Account: "/[/"}, Actions: []string{"pull"}}, []string{"acl[0].match.account: invalid regex"}},
		{"unclosed class", Rule{Match: Match{Name: "a[bc"}, Actions: []string{"pull"}}, []string{"acl[0].match.name: invalid glob", "unclosed ["}},
		{"class with slash", Rule{Match: Match{Name: "a[/]"}, Actions: []string{"pull"}}, []string{"cannot match /"}},
		{"class range over slash", Rule{Match: Match{Name: "a[.-0]"}, Actions: []string{"pull"}}, []string{"cannot match /"}},
		{"reversed range", Rule{Match: Match{Name: "a[z-a]"}, Actions: []string{"pull"}}, []string{"invalid range"}},
		{"trailing backslash", Rule{Match: Match{Name: `a\`}, Actions: []string{"pull"}}, []string{"trailing backslash"}},
		{"unknown placeholder", Rule{Match: Match{Name: "${user}/**"}, Actions: []string{"pull"}}, []string{"unknown placeholder ${user}"}},
		{"empty label placeholder", Rule{Match: Match{Name: "${labels:}/**"}, Actions: []string{"pull"}}, []string{"unknown placeholder"}},
		{"unclosed placeholder", Rule{Match: Match{Name: "${account/**"}, Actions: []string{"pull"}}, []string{"unclosed ${"}},
		{"placeholder in account", Rule{Match: Match{Account: "${account}"}, Actions: []string{"pull"}}, []string{"acl[0].match.account: ", "only allowed in match.name"}},
		{"placeholder in class", Rule{Match: Match{Name: "[${account}]"}, Actions: []string{"pull"}}, []string{"inside [ ]"}},
		{"placeholder in regex class", Rule{Match: Match{Name: "/[${account}]/"}, Actions: []string{"pull"}}, []string{"outside [ ]"}},
		{"placeholder in regex quote", Rule{Match: Match{Name: `/\Q${account}\E/`}, Actions: []string{"pull"}}, []string{"outside [ ]"}},
		{"bad ip", Rule{Match: Match{IP: []string{"10.0.0.0/8", "10.0.0.300"}}, Actions: []string{"pull"}}, []string{"acl[0].match.ip[1]: not a CIDR or address"}},
		{"bad cidr", Rule{Match: Match{IP: []string{"10.0.0.0/33"}}, Actions: []string{"pull"}}, []string{"acl[0].match.ip[0]"}},
		{"ip zone", Rule{Match: Match{IP: []string{"fe80::1%eth0"}}, Actions: []string{"pull"}}, []string{"zones are not allowed"}},
		{"bad label value", Rule{Match: Match{Labels: map[string][]string{"g": {"/(/"}}}, Actions: []string{"pull"}}, []string{"acl[0].match.labels.g[0]: invalid regex"}},
		{"empty label value", Rule{Match: Match{Labels: map[string][]string{"g": {""}}}, Actions: []string{"pull"}}, []string{"acl[0].match.labels.g[0]: empty value"}},
		{"anonymous with account", Rule{Match: Match{Anonymous: ptr(true), Account: "bob"}, Actions: []string{"pull"}}, []string{"acl[0].match.account: never matches"}},
		{"long pattern", Rule{Match: Match{Name: strings.Repeat("a", MaxPatternLength+1)}, Actions: []string{"pull"}}, []string{"pattern longer than"}},
		{"invalid utf8", Rule{Match: Match{Name: "a\xff"}, Actions: []string{"pull"}}, []string{"invalid UTF-8"}},
		{"several problems", Rule{Match: Match{Name: "/(/", Account: "/)/"}, Actions: []string{"pul", "psh"}}, []string{
			"acl[0].match.account: invalid regex", "acl[0].match.name: invalid regex", `unknown action "pul"`, `unknown action "psh"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New([]Rule{tt.rule})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("New = %v, want *Error", err)
			}
			all := strings.Join(e.Problems, "\n")
			pos := 0
			for _, w := range tt.want {
				i := strings.Index(all[pos:], w)
				if i < 0 {
					t.Fatalf("problems:\n%s\nwant (in order) %q", all, w)
				}
				pos += i + len(w)
			}
		})
	}
}

func TestNewNamesTheRuleIndex(t *testing.T) {
	_, err := New([]Rule{allow(Match{}, "pull"), allow(Match{}, "pull"), allow(Match{}, "pull"), allow(Match{Name: "/(/"}, "pull")})
	if err == nil || !strings.Contains(err.Error(), "acl[3].match.name: invalid regex") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewAcceptsValidRules(t *testing.T) {
	rules := []Rule{
		allow(Match{Type: "registry", Name: "catalog"}, "*"),
		allow(Match{Name: "/(?i)${account}/.*/", IP: []string{"::1", "192.0.2.0/24", "2001:db8::/32", "10.0.0.1/8"}}, "pull"),
		allow(Match{Name: `lit\*eral/[!.]x`, Labels: map[string][]string{"g": nil}}, "push", "delete"),
		deny(Match{Name: "${labels:team}/${labels:team}"}),
	}
	if _, err := New(rules); err != nil {
		t.Fatal(err)
	}
}
