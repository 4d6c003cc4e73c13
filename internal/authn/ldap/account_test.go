package ldap

import (
	"slices"
	"testing"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/config"
)

// TestAccountNameAsTheDirectorySpellsIt: the directory finds and binds an
// entry for other spellings of its name (case, compatibility forms); the
// account a grant carries is the directory's spelling, so that ACL rules
// on account names (deny rules above all) see one entry as one account.
func TestAccountNameAsTheDirectorySpellsIt(t *testing.T) {
	s := startDirectory(t)
	spellings := map[string][]string{
		"alice":     {"ALICE", "Alice", "ａｌｉｃｅ"},
		specialUser: {`ZOË*(X)\Y`},
	}
	password := map[string]string{"alice": "alice-pw", specialUser: specialPass}
	check := func(t *testing.T, b *Backend) {
		t.Helper()
		for account, typed := range spellings {
			for _, u := range typed {
				res, err := login(t, b, u, password[account])
				if err != nil || res.Decision != authn.Grant {
					t.Fatalf("%q: %+v %v", u, res, err)
				}
				if res.Identity.Account != account {
					t.Errorf("login as %q: account %q, want %q", u, res.Identity.Account, account)
				}
			}
		}
	}
	t.Run("search-then-bind", func(t *testing.T) {
		b := newBackend(t, parseLDAP(t, s, searchConfig))
		check(t, b)
		// Only the account name a grant carries is found by a lookup.
		mustLookup(t, b, "alice", true)
		for _, u := range spellings["alice"] {
			mustLookup(t, b, u, false)
		}
		tr, err := b.Lookup(t.Context(), "ALICE", "alice-pw")
		if err != nil || tr.Account != "alice" {
			t.Fatalf("trace %+v, %v", tr, err)
		}
	})
	t.Run("direct bind", func(t *testing.T) {
		b := newBackend(t, parseLDAP(t, s, `
urls: [{{.LDAPSURL}}]
ca_file: {{.CAFile}}
user_dn_template: uid={username},ou=people,dc=example,dc=org
`))
		check(t, b)
	})
	t.Run("direct bind with service account", func(t *testing.T) {
		b := newBackend(t, parseLDAP(t, s, `
urls: [{{.LDAPSURL}}]
ca_file: {{.CAFile}}
user_dn_template: uid={username},ou=people,dc=example,dc=org
`, "bind_dn: "+svcDN, "bind_password: svc-secret"))
		check(t, b)
		mustLookup(t, b, "alice", true)
		mustLookup(t, b, "ALICE", false)
	})
	t.Run("account_attribute", func(t *testing.T) {
		b := newBackend(t, parseLDAP(t, s, searchConfig, "account_attribute: mail"))
		if id := mustDecide(t, b, "ALICE", "alice-pw", authn.Grant).Identity; id.Account != "alice@example.org" {
			t.Fatalf("account %q", id.Account)
		}
		mustLookup(t, b, "alice@example.org", true)
		mustLookup(t, b, "ALICE@example.org", false)
	})
	t.Run("group search gets the directory's spelling", func(t *testing.T) {
		// memberUid is compared case-exactly: the group is only found for
		// the name as the directory spells it.
		s.Modify("dn: cn=builders,ou=groups,dc=example,dc=org\nchangetype: add\nobjectClass: posixGroup\ncn: builders\ngidNumber: 5000\nmemberUid: alice\n")
		b := newBackend(t, parseLDAP(t, s, `
urls: [{{.URL}}]
start_tls: true
ca_file: {{.CAFile}}
bind_dn: cn=portcullis-svc,ou=services,dc=example,dc=org
bind_password: svc-secret
base_dn: ou=people,dc=example,dc=org
user_filter: (uid={username})
group_cache_ttl: -1s
group_search:
  base_dn: ou=groups,dc=example,dc=org
  filter: (&(objectClass=posixGroup)(memberUid={username}))
`))
		for _, u := range []string{"alice", "ALICE"} {
			id := mustDecide(t, b, u, "alice-pw", authn.Grant).Identity
			if !slices.Equal(id.Labels["groups"], []string{"builders"}) {
				t.Fatalf("login as %q: groups %v", u, id.Labels["groups"])
			}
		}
	})
}

func TestNameAttribute(t *testing.T) {
	for _, tc := range []struct {
		filter, template, want string
	}{
		{"(uid={username})", "", "uid"},
		{"(&(objectClass=inetOrgPerson)(uid={username}))", "", "uid"},
		{"(&(objectCategory=person)(objectClass=user)(sAMAccountName={username}))", "", "sAMAccountName"},
		{"(|(uid={username})(UID={username}))", "", "uid"},
		{"(0.9.2342.19200300.100.1.1={username})", "", "0.9.2342.19200300.100.1.1"},
		{"(|(uid={username})(mail={username}))", "", ""},
		{"(uid=x-{username})", "", ""},
		{"(uid={username}*)", "", ""},
		{"(&(uid={username})(cn=*{username}*))", "", ""},
		{"", "uid={username},ou=people,dc=example,dc=org", "uid"},
		{"", "cn={username}+sn=x,ou=people,dc=example,dc=org", "cn"},
		{"", "cn=x {username},ou=people,dc=example,dc=org", ""},
	} {
		got := nameAttribute(config.LDAPConfig{UserFilter: tc.filter, UserDNTemplate: tc.template})
		if got != tc.want {
			t.Errorf("%q %q: %q, want %q", tc.filter, tc.template, got, tc.want)
		}
	}
}
