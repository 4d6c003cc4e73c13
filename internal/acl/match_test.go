package acl

import (
	"net/netip"
	"testing"
)

// TestMatchFields checks each match field on a one-rule ACL granting
// pull: "pull" means the rule matched, "" that it did not.
func TestMatchFields(t *testing.T) {
	withLabels := func(s Subject, kv ...string) Subject {
		s.Labels = map[string][]string{}
		for i := 0; i < len(kv); i += 2 {
			s.Labels[kv[i]] = append(s.Labels[kv[i]], kv[i+1])
		}
		return s
	}
	withIP := func(s Subject, ip string) Subject {
		s.IP = netip.MustParseAddr(ip)
		return s
	}
	admin := user("root")
	admin.Admin = true
	adminAnon := anon()
	adminAnon.Admin = true // never counts as admin
	other := user("alice")
	other.Service = "other-registry"

	tests := []struct {
		name  string
		match Match
		subj  Subject
		scope string
		want  string
	}{
		// account
		{"account exact", Match{Account: "alice"}, user("alice"), "repository:x:pull", "pull"},
		{"account exact other", Match{Account: "alice"}, user("alicia"), "repository:x:pull", ""},
		{"account exact case", Match{Account: "alice"}, user("Alice"), "repository:x:pull", ""},
		{"account glob", Match{Account: "ci-*"}, user("ci-build"), "repository:x:pull", "pull"},
		{"account glob miss", Match{Account: "ci-*"}, user("build-ci"), "repository:x:pull", ""},
		{"account glob question", Match{Account: "bot?"}, user("bot1"), "repository:x:pull", "pull"},
		{"account glob question too long", Match{Account: "bot?"}, user("bot12"), "repository:x:pull", ""},
		{"account glob class", Match{Account: "bot[0-9]"}, user("bot7"), "repository:x:pull", "pull"},
		{"account glob negated class", Match{Account: "bot[!0-9]"}, user("bot7"), "repository:x:pull", ""},
		{"account regex", Match{Account: "/(alice|bob)/"}, user("bob"), "repository:x:pull", "pull"},
		{"account regex anchored", Match{Account: "/ali/"}, user("alice"), "repository:x:pull", ""},
		{"account regex anchored end", Match{Account: "/alice/"}, user("xalice"), "repository:x:pull", ""},
		{"account star never anonymous", Match{Account: "*"}, anon(), "repository:x:pull", ""},
		{"account regex never anonymous", Match{Account: "/.*/"}, anon(), "repository:x:pull", ""},
		{"account glob literal meta escaped", Match{Account: `a\*`}, user("a*"), "repository:x:pull", "pull"},
		{"account glob literal meta escaped other", Match{Account: `a\*`}, user("ab"), "repository:x:pull", ""},

		// anonymous and admin
		{"anonymous true anon", Match{Anonymous: ptr(true)}, anon(), "repository:x:pull", "pull"},
		{"anonymous true user", Match{Anonymous: ptr(true)}, user("alice"), "repository:x:pull", ""},
		{"anonymous false anon", Match{Anonymous: ptr(false)}, anon(), "repository:x:pull", ""},
		{"anonymous false user", Match{Anonymous: ptr(false)}, user("alice"), "repository:x:pull", "pull"},
		{"anonymous unset anon", Match{}, anon(), "repository:x:pull", "pull"},
		{"admin true admin", Match{Admin: ptr(true)}, admin, "repository:x:pull", "pull"},
		{"admin true user", Match{Admin: ptr(true)}, user("alice"), "repository:x:pull", ""},
		{"admin true anonymous flagged admin", Match{Admin: ptr(true)}, adminAnon, "repository:x:pull", ""},
		{"admin false user", Match{Admin: ptr(false)}, user("alice"), "repository:x:pull", "pull"},
		{"admin false admin", Match{Admin: ptr(false)}, admin, "repository:x:pull", ""},

		// labels
		{"label value", Match{Labels: map[string][]string{"team": {"dev"}}}, withLabels(user("a"), "team", "dev"), "repository:x:pull", "pull"},
		{"label one of several subject values", Match{Labels: map[string][]string{"team": {"dev"}}}, withLabels(user("a"), "team", "ops", "team", "dev"), "repository:x:pull", "pull"},
		{"label one of several rule values", Match{Labels: map[string][]string{"team": {"ops", "dev"}}}, withLabels(user("a"), "team", "dev"), "repository:x:pull", "pull"},
		{"label wrong value", Match{Labels: map[string][]string{"team": {"dev"}}}, withLabels(user("a"), "team", "ops"), "repository:x:pull", ""},
		{"label missing", Match{Labels: map[string][]string{"team": {"dev"}}}, user("a"), "repository:x:pull", ""},
		{"label glob value", Match{Labels: map[string][]string{"group": {"cn=dev-*"}}}, withLabels(user("a"), "group", "cn=dev-web"), "repository:x:pull", "pull"},
		{"label regex value", Match{Labels: map[string][]string{"group": {"/cn=(dev|ops),.*/"}}}, withLabels(user("a"), "group", "cn=ops,dc=example"), "repository:x:pull", "pull"},
		{"labels all keys required", Match{Labels: map[string][]string{"team": {"dev"}, "env": {"prod"}}}, withLabels(user("a"), "team", "dev"), "repository:x:pull", ""},
		{"labels all keys present", Match{Labels: map[string][]string{"team": {"dev"}, "env": {"prod"}}}, withLabels(user("a"), "team", "dev", "env", "prod"), "repository:x:pull", "pull"},
		{"label presence only", Match{Labels: map[string][]string{"team": nil}}, withLabels(user("a"), "team", "x"), "repository:x:pull", "pull"},
		{"label presence only missing", Match{Labels: map[string][]string{"team": nil}}, user("a"), "repository:x:pull", ""},

		// ip
		{"ip v4 cidr", Match{IP: []string{"10.0.0.0/8"}}, user("a"), "repository:x:pull", "pull"},
		{"ip v4 cidr miss", Match{IP: []string{"192.168.0.0/16"}}, user("a"), "repository:x:pull", ""},
		{"ip v4 single", Match{IP: []string{"10.1.2.3"}}, user("a"), "repository:x:pull", "pull"},
		{"ip v4 single miss", Match{IP: []string{"10.1.2.4"}}, user("a"), "repository:x:pull", ""},
		{"ip list second", Match{IP: []string{"192.168.0.0/16", "10.1.0.0/16"}}, user("a"), "repository:x:pull", "pull"},
		{"ip v4-mapped client", Match{IP: []string{"10.0.0.0/8"}}, withIP(user("a"), "::ffff:10.1.2.3"), "repository:x:pull", "pull"},
		{"ip v6 cidr", Match{IP: []string{"2001:db8::/32"}}, withIP(user("a"), "2001:db8::1"), "repository:x:pull", "pull"},
		{"ip v6 cidr miss", Match{IP: []string{"2001:db8::/32"}}, withIP(user("a"), "2001:db9::1"), "repository:x:pull", ""},
		{"ip v6 single", Match{IP: []string{"::1"}}, withIP(user("a"), "::1"), "repository:x:pull", "pull"},
		{"ip v4 rule v6 client", Match{IP: []string{"0.0.0.0/0"}}, withIP(user("a"), "::1"), "repository:x:pull", ""},
		{"ip unknown client", Match{IP: []string{"0.0.0.0/0"}}, Subject{Account: "a"}, "repository:x:pull", ""},

		// service
		{"service exact", Match{Service: "registry"}, user("a"), "repository:x:pull", "pull"},
		{"service exact miss", Match{Service: "registry"}, other, "repository:x:pull", ""},
		{"service glob", Match{Service: "*-registry"}, other, "repository:x:pull", "pull"},

		// type
		{"type exact", Match{Type: "repository"}, user("a"), "repository:x:pull", "pull"},
		{"type miss", Match{Type: "repository"}, user("a"), "registry:catalog:*", ""},
		{"type class ignored", Match{Type: "repository"}, user("a"), "repository(plugin):x:pull", "pull"},
		{"type glob", Match{Type: "repo*"}, user("a"), "repository:x:pull", "pull"},

		// names
		{"name exact", Match{Name: "library/alpine"}, user("a"), "repository:library/alpine:pull", "pull"},
		{"name exact miss", Match{Name: "library/alpine"}, user("a"), "repository:library/alpine2:pull", ""},
		{"name star one segment", Match{Name: "library/*"}, user("a"), "repository:library/alpine:pull", "pull"},
		{"name star not across slash", Match{Name: "library/*"}, user("a"), "repository:library/x/alpine:pull", ""},
		{"name doublestar nested", Match{Name: "library/**"}, user("a"), "repository:library/x/alpine:pull", "pull"},
		{"name doublestar not parent", Match{Name: "library/**"}, user("a"), "repository:library:pull", ""},
		{"name doublestar not prefix sibling", Match{Name: "library/**"}, user("a"), "repository:library2/x:pull", ""},
		{"name doublestar middle zero segments", Match{Name: "a/**/b"}, user("u"), "repository:a/b:pull", "pull"},
		{"name doublestar middle many segments", Match{Name: "a/**/b"}, user("u"), "repository:a/x/y/b:pull", "pull"},
		{"name doublestar leading", Match{Name: "**/cache"}, user("u"), "repository:cache:pull", "pull"},
		{"name doublestar leading nested", Match{Name: "**/cache"}, user("u"), "repository:a/b/cache:pull", "pull"},
		{"name doublestar leading miss", Match{Name: "**/cache"}, user("u"), "repository:a/bcache:pull", ""},
		{"name doublestar alone", Match{Name: "**"}, user("u"), "repository:a/b/c:pull", "pull"},
		{"name star alone one segment", Match{Name: "*"}, user("u"), "repository:a/b:pull", ""},
		{"name question", Match{Name: "app?"}, user("u"), "repository:app1:pull", "pull"},
		{"name question not slash", Match{Name: "a?b"}, user("u"), "repository:a/b:pull", ""},
		{"name class", Match{Name: "app-[a-c]"}, user("u"), "repository:app-b:pull", "pull"},
		{"name class miss", Match{Name: "app-[a-c]"}, user("u"), "repository:app-d:pull", ""},
		{"name regex", Match{Name: "/team-(a|b)/.+/"}, user("u"), "repository:team-b/x/y:pull", "pull"},
		{"name regex anchored", Match{Name: "/team/"}, user("u"), "repository:team/x:pull", ""},
		{"name host port", Match{Name: "localhost:5000/**"}, user("u"), "repository:localhost:5000/a/b:pull", "pull"},
		{"name host port star", Match{Name: "*:5000/x"}, user("u"), "repository:example.com:5000/x:pull", "pull"},
		{"name dot literal", Match{Name: "a.b"}, user("u"), "repository:axb:pull", ""},

		// placeholders
		{"account placeholder", Match{Name: "${account}/**"}, user("alice"), "repository:alice/app:pull", "pull"},
		{"account placeholder nested", Match{Name: "${account}/**"}, user("alice"), "repository:alice/team/app:pull", "pull"},
		{"account placeholder not parent", Match{Name: "${account}/**"}, user("alice"), "repository:alice:pull", ""},
		{"account placeholder other user", Match{Name: "${account}/**"}, user("alice"), "repository:bob/app:pull", ""},
		{"account placeholder prefix sibling", Match{Name: "${account}/**"}, user("alice"), "repository:alice2/app:pull", ""},
		{"account placeholder anonymous", Match{Name: "${account}/**"}, anon(), "repository:/app:pull", ""},
		{"account placeholder empty account", Match{Name: "${account}/**"}, user(""), "repository:/app:pull", ""},
		{"account placeholder exact", Match{Name: "home/${account}"}, user("alice"), "repository:home/alice:pull", "pull"},
		{"account placeholder regex", Match{Name: "/${account}-[a-z]+/"}, user("alice"), "repository:alice-web:pull", "pull"},
		{"account placeholder regex other", Match{Name: "/${account}-[a-z]+/"}, user("alice"), "repository:bob-web:pull", ""},
		{"account placeholder regex quantified", Match{Name: "/(${account}/)+x/"}, user("a"), "repository:a/a/x:pull", "pull"},
		{"label placeholder", Match{Name: "teams/${labels:team}/**"}, withLabels(user("a"), "team", "dev"), "repository:teams/dev/app:pull", "pull"},
		{"label placeholder second value", Match{Name: "teams/${labels:team}/**"}, withLabels(user("a"), "team", "ops", "team", "dev"), "repository:teams/dev/app:pull", "pull"},
		{"label placeholder other value", Match{Name: "teams/${labels:team}/**"}, withLabels(user("a"), "team", "ops"), "repository:teams/dev/app:pull", ""},
		{"label placeholder missing", Match{Name: "teams/${labels:team}/**"}, user("a"), "repository:teams//app:pull", ""},
		{"label placeholder anonymous", Match{Name: "teams/${labels:team}/**"}, withLabels(anon(), "team", "dev"), "repository:teams/dev/app:pull", "pull"},
		{"two placeholders", Match{Name: "${labels:team}/${account}/*"}, withLabels(user("al"), "team", "dev"), "repository:dev/al/app:pull", "pull"},
		{"repeated label placeholder same value", Match{Name: "${labels:t}/${labels:t}"}, withLabels(user("a"), "t", "x", "t", "y"), "repository:y/y:pull", "pull"},
		{"repeated label placeholder mixed values", Match{Name: "${labels:t}/${labels:t}"}, withLabels(user("a"), "t", "x", "t", "y"), "repository:x/y:pull", ""},

		// injection attempts: the value is always a literal
		{"inject doublestar account", Match{Name: "${account}/**"}, user("x/**"), "repository:x/anything/else:pull", ""},
		{"inject doublestar account literal", Match{Name: "${account}/**"}, user("x/**"), "repository:x/**/app:pull", ""},
		// An account holding "/" would own part of another account's area:
		// "alice/ci" would get alice/ci/app, which ${account}/** gives alice.
		{"account with slash into parent area", Match{Name: "${account}/**"}, user("alice/ci"), "repository:alice/ci/app:pull", ""},
		{"account with slash exact", Match{Name: "home/${account}"}, user("alice/ci"), "repository:home/alice/ci:pull", ""},
		{"account with slash regex", Match{Name: "/${account}-.+/"}, user("a/b"), "repository:a/b-x:pull", ""},
		{"inject star account", Match{Name: "${account}"}, user("*"), "repository:bob:pull", ""},
		{"inject question account", Match{Name: "${account}/x"}, user("?"), "repository:b/x:pull", ""},
		{"inject class account", Match{Name: "${account}/x"}, user("[a-z]"), "repository:b/x:pull", ""},
		{"inject regex dot-star glob", Match{Name: "${account}/**"}, user(".*"), "repository:bob/app:pull", ""},
		{"inject regex dot-star regex", Match{Name: "/${account}/.*/"}, user(".*"), "repository:bob/app:pull", ""},
		{"inject regex dot-star literal", Match{Name: "/${account}/.*/"}, user(".*"), "repository:.*/app:pull", "pull"},
		{"inject regex alternation", Match{Name: "/${account}/.*/"}, user("a|b"), "repository:b/app:pull", ""},
		{"inject regex group close", Match{Name: "/${account}/.*/"}, user("a)|(.*"), "repository:b/app:pull", ""},
		{"inject backslash", Match{Name: "${account}/**"}, user(`\`), `repository:\/x:pull`, "pull"},
		{"inject label alternation", Match{Name: "t/${labels:team}"}, withLabels(user("a"), "team", "dev|ops"), "repository:t/ops:pull", ""},
		{"inject label doublestar", Match{Name: "t/${labels:team}"}, withLabels(user("a"), "team", "**"), "repository:t/ops:pull", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustNew(t, []Rule{allow(tt.match, "pull")})
			d := a.Authorize(tt.subj, req(t, tt.scope))
			if got := join(d.Allowed); got != tt.want {
				t.Fatalf("Authorize(%+v, %s) = %q (rule %d), want %q", tt.subj, tt.scope, got, d.Rule, tt.want)
			}
			wantRule := -1
			if tt.want != "" {
				wantRule = 0
			}
			if d.Rule != wantRule || d.Denied {
				t.Fatalf("decision %+v, want rule %d, not denied", d, wantRule)
			}
		})
	}
}
