package acl

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzAuthorize builds rules from arbitrary patterns and evaluates
// arbitrary subjects and names: New must reject or accept without
// panicking, Authorize must stay quick and grant only requested actions.
func FuzzAuthorize(f *testing.F) {
	f.Add("${account}/**", "ci-*", "alice", "alice/app", "dev", "pull,push")
	f.Add("/${account}-[a-z]+/", "/(a|b)/", "a", "a-web", "x", "*")
	f.Add("teams/${labels:team}/**", "", ".*", "teams/dev/x", "dev|ops", "pull")
	f.Add("a/**/b", "bot[0-9]", "bot1", "a/b", "", "delete")
	f.Add("**/x[!a-c]?", `a\*`, "a*", "q/xd1", "**", "pull,pull")
	f.Add("${labels:t}/${labels:t}", "*", "x/**", "y/y", "y", "pull")
	f.Add("/(?i)${account}{2}/", "", "Ab", "abab", "", "push")
	f.Add("[]-]x", "", "u", "]x", "", "pull")
	f.Fuzz(func(t *testing.T, namePat, accountPat, account, name, label, actions string) {
		rules := []Rule{
			{Match: Match{Account: accountPat, Name: namePat, Labels: map[string][]string{"team": {"*"}}}, Actions: []string{"pull", "push"}},
			{Match: Match{Name: namePat}, Deny: true},
			{Match: Match{Type: accountPat}, Actions: []string{"*"}},
		}
		a, err := New(rules)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("New error %T %v", err, err)
			}
			return
		}
		requested := strings.Split(actions, ",")
		for _, s := range []Subject{
			{Account: account, Labels: map[string][]string{"team": {label, label + "x"}, "t": {label, "y"}}},
			{Anonymous: true, Account: account},
		} {
			start := time.Now()
			d := a.Authorize(s, Request{Type: "repository", Name: name, Actions: requested})
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("Authorize took %s", el)
			}
			if d.Rule < -1 || d.Rule >= len(rules) {
				t.Fatalf("rule index %d", d.Rule)
			}
			if d.Denied && len(d.Allowed) > 0 {
				t.Fatalf("denied decision grants %v", d.Allowed)
			}
			for i, x := range d.Allowed {
				if !contains(requested, x) || contains(d.Allowed[:i], x) {
					t.Fatalf("granted %v for requested %v", d.Allowed, requested)
				}
			}
		}
	})
}

// FuzzPlaceholderIsLiteral checks that an account put in a pattern
// through ${account} only ever matches itself, whatever it contains, and
// that an account holding "/" is never filled in.
func FuzzPlaceholderIsLiteral(f *testing.F) {
	for _, s := range [][2]string{{"alice", "alice"}, {"*", "bob"}, {"x/**", "x/y"}, {".*", "abc"}, {"a|b", "b"}, {`\`, `\`}, {"[a-z]", "q"}, {"a)|(.*", "zz"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, account, name string) {
		if account == "" || len(name) > MaxNameLength {
			return
		}
		for _, pat := range []string{"${account}", "/${account}/", "pre/${account}/**", "/pre/${account}/.+/"} {
			a := mustNew(t, []Rule{allow(Match{Name: pat}, "pull")})
			d := a.Authorize(Subject{Account: account}, Request{Type: "repository", Name: name, Actions: []string{"pull"}})
			var want bool
			switch {
			case strings.Contains(account, "/"):
				// such an account cannot be filled in
			case pat == "${account}" || pat == "/${account}/":
				want = name == account
			default:
				rest, ok := strings.CutPrefix(name, "pre/"+account+"/")
				want = ok && rest != ""
			}
			if d.Denied {
				// Only an oversized expansion or an account that is not
				// UTF-8 (RE2 cannot hold it as a literal) fails closed.
				if utf8.ValidString(account) && len(account) < MaxExpandedLength/8 {
					t.Fatalf("%s with account %q: failed closed", pat, account)
				}
				continue
			}
			if got := d.Allowed != nil; got != want {
				t.Fatalf("%s with account %q on %q: matched %v, want %v", pat, account, name, got, want)
			}
		}
	})
}

// FuzzGlob checks glob compilation never panics and that a glob without
// wildcards matches exactly itself.
func FuzzGlob(f *testing.F) {
	for _, s := range []string{"a/**", "*", "?", "[a-z]", "[!a]", `\*`, "**/b", "a/**/b", "[", "a[]]", "${account}"} {
		f.Add(s, "a/b")
	}
	f.Fuzz(func(t *testing.T, glob, name string) {
		p, err := compilePattern(glob, false)
		if err != nil {
			return
		}
		got := p.matchStatic(name)
		if !strings.ContainsAny(glob, `*?[\`) && !isRegex(glob) && glob != "" {
			if got != (name == glob) {
				t.Fatalf("literal glob %q on %q: %v", glob, name, got)
			}
		}
	})
}
