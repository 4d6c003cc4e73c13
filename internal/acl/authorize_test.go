package acl

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestFirstMatchWins(t *testing.T) {
	rules := []Rule{
		{Match: Match{Account: "alice", Name: "secret/**"}, Deny: true, Comment: "no secrets for alice"},
		{Match: Match{Name: "secret/**"}, Actions: []string{"pull"}, Comment: "everyone reads secrets"},
		{Match: Match{Account: "ci-*"}, Actions: []string{"pull", "push"}, Comment: "ci builds"},
		{Match: Match{Anonymous: ptr(false)}, Actions: []string{"*"}, Comment: "users do anything"},
		{Match: Match{}, Actions: []string{"pull"}, Comment: "anonymous pulls"},
	}
	a := mustNew(t, rules)
	tests := []struct {
		subj    Subject
		scope   string
		allowed string
		rule    int
		denied  bool
	}{
		{user("alice"), "repository:secret/x:pull", "", 0, true},
		{user("bob"), "repository:secret/x:pull,push", "pull", 1, false},
		{user("ci-1"), "repository:secret/x:push", "", 1, false}, // rule 1 matched: later rules are not asked
		{user("ci-1"), "repository:app:pull,push,delete", "pull,push", 2, false},
		{user("bob"), "repository:app:delete,pull", "delete,pull", 3, false},
		{anon(), "repository:app:pull,push", "pull", 4, false},
		{anon(), "registry:catalog:*", "", 4, false},
		{user("bob"), "registry:catalog:*", "*", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.subj.Account+" "+tt.scope, func(t *testing.T) {
			d := a.Authorize(tt.subj, req(t, tt.scope))
			if join(d.Allowed) != tt.allowed || d.Rule != tt.rule || d.Denied != tt.denied {
				t.Fatalf("got %+v, want allowed %q rule %d denied %v", d, tt.allowed, tt.rule, tt.denied)
			}
			if d.Comment != rules[tt.rule].Comment {
				t.Fatalf("comment %q, want %q", d.Comment, rules[tt.rule].Comment)
			}
		})
	}
}

func TestIntersection(t *testing.T) {
	tests := []struct {
		actions   []string
		requested string
		want      string
	}{
		{[]string{"pull"}, "pull,push", "pull"},
		{[]string{"push", "pull"}, "pull,push", "pull,push"}, // requested order kept
		{[]string{"pull", "push"}, "push,pull", "push,pull"}, // requested order kept
		{[]string{"pull"}, "pull,pull,pull", "pull"},         // no duplicates
		{[]string{"*"}, "delete,push,push,pull", "delete,push,pull"},
		{[]string{"*"}, "*", "*"},
		{[]string{"pull", "push", "delete"}, "*", ""}, // "*" requested is granted only by "*"
		{[]string{"delete"}, "pull", ""},
		{[]string{"pull"}, "", ""},
		{[]string{"pull", "pull"}, "pull", "pull"},
		{[]string{"*"}, "frobnicate", "frobnicate"},
	}
	for _, tt := range tests {
		t.Run(join(tt.actions)+"/"+tt.requested, func(t *testing.T) {
			a := mustNew(t, []Rule{allow(Match{}, tt.actions...)})
			d := a.Authorize(user("u"), req(t, "repository:x:"+tt.requested))
			if got := join(d.Allowed); got != tt.want || d.Rule != 0 {
				t.Fatalf("granted %q (rule %d), want %q", got, d.Rule, tt.want)
			}
		})
	}
}

func TestNoRuleNothingGranted(t *testing.T) {
	for _, rules := range [][]Rule{nil, {allow(Match{Account: "bob"}, "pull")}} {
		a := mustNew(t, rules)
		d := a.Authorize(user("alice"), req(t, "repository:x:pull"))
		if d.Allowed != nil || d.Rule != -1 || d.Denied {
			t.Fatalf("%d rules: got %+v, want nothing from no rule", len(rules), d)
		}
	}
}

func TestDenyStopsEvaluation(t *testing.T) {
	a := mustNew(t, []Rule{
		{Match: Match{IP: []string{"10.0.0.0/8"}, Type: "repository", Name: "prod/**"}, Deny: true, Comment: "no prod from the office"},
		allow(Match{}, "*"),
	})
	if d := a.Authorize(user("u"), req(t, "repository:prod/db:pull")); !d.Denied || d.Allowed != nil || d.Rule != 0 {
		t.Fatalf("from 10/8: %+v, want denied by rule 0", d)
	}
	s := user("u")
	s.Admin = true // a deny rule binds administrators too
	if d := a.Authorize(s, req(t, "repository:prod/db:pull")); !d.Denied {
		t.Fatalf("admin: %+v, want denied", d)
	}
	if d := a.Authorize(user("u"), req(t, "repository:dev/db:pull")); d.Denied || join(d.Allowed) != "pull" || d.Rule != 1 {
		t.Fatalf("dev: %+v, want pull from rule 1", d)
	}
}

func TestDefaultRules(t *testing.T) {
	a := mustNew(t, Default())
	admin := user("root")
	admin.Admin = true
	tests := []struct {
		subj  Subject
		scope string
		want  string
		rule  int
	}{
		{admin, "registry:catalog:*", "*", 0},
		{admin, "repository:bob/app:pull,push,delete", "pull,push,delete", 0},
		{admin, "repository:library/alpine:pull", "pull", 0},
		{user("alice"), "repository:alice/app:pull,push", "pull,push", 1},
		{user("alice"), "repository:alice/team/app:delete", "delete", 1},
		{user("alice"), "repository:alice:pull", "", -1},
		{user("alice"), "repository:bob/app:pull", "", -1},
		{user("alice"), "registry:catalog:*", "", -1},
		{user("alice"), "repository(plugin):alice/p:pull", "pull", 1},
		{anon(), "repository:alice/app:pull", "", -1},
		{anon(), "repository:/app:pull", "", -1},
	}
	for _, tt := range tests {
		d := a.Authorize(tt.subj, req(t, tt.scope))
		if join(d.Allowed) != tt.want || d.Rule != tt.rule {
			t.Errorf("%s %s: got %+v, want %q from rule %d", tt.subj.Account, tt.scope, d, tt.want, tt.rule)
		}
	}
}

func TestRulesIsACopy(t *testing.T) {
	in := Default()
	a := mustNew(t, in)
	in[1].Match.Name = "**"
	got := a.Rules()
	got[1].Actions[0] = "delete"
	*got[0].Match.Admin = false
	if !reflect.DeepEqual(a.Rules(), Default()) {
		t.Fatalf("Rules changed through aliasing: %+v", a.Rules())
	}
	if d := a.Authorize(user("alice"), req(t, "repository:bob/x:pull")); d.Allowed != nil {
		t.Fatalf("rules changed after New: %+v", d)
	}
}

func TestLongNameGrantsNothing(t *testing.T) {
	a := mustNew(t, []Rule{allow(Match{}, "*")})
	name := strings.Repeat("a", MaxNameLength+1)
	if d := a.Authorize(user("u"), Request{Type: "repository", Name: name, Actions: []string{"pull"}}); d.Allowed != nil || d.Rule != -1 {
		t.Fatalf("got %+v", d)
	}
}

// TestExpansionLimitsFailClosed shows that a rule whose placeholders
// cannot be expanded within the limits stops evaluation with nothing,
// rather than being skipped so that a later rule grants.
func TestExpansionLimitsFailClosed(t *testing.T) {
	a := mustNew(t, []Rule{
		{Match: Match{Name: "${labels:g}/${labels:g}/**"}, Deny: true},
		allow(Match{}, "*"),
	})
	s := user("u")
	s.Labels = map[string][]string{"g": nil}
	for i := 0; i < MaxExpansions+1; i++ {
		s.Labels["g"] = append(s.Labels["g"], fmt.Sprint("v", i))
	}
	if d := a.Authorize(s, req(t, "repository:other/x:pull")); !d.Denied || d.Allowed != nil || d.Rule != 0 {
		t.Fatalf("too many combinations: %+v, want denied at rule 0", d)
	}
	s.Labels["g"] = s.Labels["g"][:3]
	if d := a.Authorize(s, req(t, "repository:other/x:pull")); d.Denied || d.Rule != 1 {
		t.Fatalf("few combinations: %+v, want rule 1", d)
	}
	if d := a.Authorize(s, req(t, "repository:v2/v2/x:pull")); !d.Denied || d.Rule != 0 {
		t.Fatalf("matching combination: %+v, want denied at rule 0", d)
	}

	long := user(strings.Repeat("x", MaxExpandedLength))
	b := mustNew(t, []Rule{{Match: Match{Name: "${account}/**"}, Deny: true}, allow(Match{}, "*")})
	if d := b.Authorize(long, req(t, "repository:y/z:pull")); !d.Denied || d.Rule != 0 {
		t.Fatalf("oversized expansion: %+v, want denied at rule 0", d)
	}
}

func TestConcurrentAuthorize(t *testing.T) {
	a := mustNew(t, Default())
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				name := fmt.Sprintf("u%d", i%50)
				d := a.Authorize(user(name), Request{Type: "repository", Name: name + "/app", Actions: []string{"pull"}})
				if join(d.Allowed) != "pull" {
					t.Errorf("%s: %+v", name, d)
					return
				}
			}
		}()
	}
	wg.Wait()
}
