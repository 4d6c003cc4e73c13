package ldap

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
)

func lookup(t *testing.T, b authn.UserLookup, user string) (*authn.Identity, bool, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return b.LookupUser(ctx, user)
}

func mustLookup(t *testing.T, b authn.UserLookup, user string, want bool) *authn.Identity {
	t.Helper()
	id, ok, err := lookup(t, b, user)
	if err != nil {
		t.Fatalf("lookup %q: %v", user, err)
	}
	if ok != want {
		t.Fatalf("lookup %q: found=%v (%+v), want %v", user, ok, id, want)
	}
	if ok && id == nil {
		t.Fatalf("lookup %q: found without identity", user)
	}
	return id
}

func TestLookupUser(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, searchConfig))

	t.Run("labels and admin as a login gives them", func(t *testing.T) {
		for _, u := range []string{"alice", "carol", specialUser} {
			got := mustLookup(t, b, u, true)
			want := mustDecide(t, b, u, map[string]string{"alice": "alice-pw", "carol": "carol-pw", specialUser: specialPass}[u], authn.Grant).Identity
			slices.Sort(got.Labels["groups"])
			slices.Sort(want.Labels["groups"])
			if got.Account != want.Account || got.Admin != want.Admin || got.Source != "corp" || fmtLabels(got.Labels) != fmtLabels(want.Labels) {
				t.Fatalf("%s: lookup %+v, login %+v", u, got, want)
			}
		}
	})
	t.Run("unknown, ambiguous, locked and disabled are not found", func(t *testing.T) {
		for _, u := range []string{"mallory", "twin", "dave", "erin", "", "a\nb"} {
			mustLookup(t, b, u, false)
		}
	})
	t.Run("filter injection finds nobody", func(t *testing.T) {
		for _, u := range []string{"*", "alic*", "alice)(uid=*", "*)(|(uid=*", `alice\`, "(uid=alice)"} {
			mustLookup(t, b, u, false)
		}
	})
	t.Run("directory changes show at once", func(t *testing.T) {
		mustLookup(t, b, "bob", true)
		s.Modify("dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n")
		mustLookup(t, b, "bob", false)
		s.Modify("dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: modify\ndelete: employeeType\n")
		mustLookup(t, b, "bob", true)
		s.Modify("dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n")
		mustLookup(t, b, "bob", false)
		s.Modify("dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: modify\ndelete: pwdAccountLockedTime\n")
		mustLookup(t, b, "bob", true)
	})
	t.Run("directory down is an error, not an answer", func(t *testing.T) {
		s.Stop()
		id, ok, err := lookup(t, b, "alice")
		s.Start()
		if !errors.Is(err, authn.ErrBackend) || ok || id != nil {
			t.Fatalf("lookup with slapd stopped: %+v %v %v", id, ok, err)
		}
		mustLookup(t, b, "alice", true)
	})
}

func TestLookupUserAccountAttribute(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, searchConfig, "account_attribute: mail"))
	id := mustDecide(t, b, "alice", "alice-pw", authn.Grant).Identity
	if id.Account != "alice@example.org" {
		t.Fatalf("account %q", id.Account)
	}
	// A refresh or app token carries the account name, not the login name.
	got := mustLookup(t, b, id.Account, true)
	if got.Account != id.Account || !slices.Equal(got.Labels["groups"], []string{"team-a"}) {
		t.Fatalf("lookup %+v", got)
	}
	mustLookup(t, b, "alice", false)
	mustLookup(t, b, "*@example.org", false)
	mustLookup(t, b, "erin@example.org", false)
}

func TestLookupUserDirectBind(t *testing.T) {
	s := startDirectory(t)
	const direct = `
urls: [{{.LDAPSURL}}]
ca_file: {{.CAFile}}
user_dn_template: uid={username},ou=people,dc=example,dc=org
disabled_attribute: pwdAccountLockedTime
group_search:
  base_dn: ou=groups,dc=example,dc=org
  filter: (&(objectClass=groupOfNames)(member={dn}))
`
	t.Run("with service account", func(t *testing.T) {
		b := newBackend(t, parseLDAP(t, s, direct, "bind_dn: "+svcDN, "bind_password: svc-secret"))
		id := mustLookup(t, b, "bob", true)
		if !slices.Equal(id.Labels["groups"], []string{"team-b"}) {
			t.Fatalf("identity %+v", id)
		}
		for _, u := range []string{"mallory", "dave", "alice,ou=services", "*"} {
			mustLookup(t, b, u, false)
		}
	})
	t.Run("without service account nobody can be looked up", func(t *testing.T) {
		b := newBackend(t, parseLDAP(t, s, direct))
		mustDecide(t, b, "bob", "bob-pw", authn.Grant)
		mustLookup(t, b, "bob", false)
	})
}

func TestChainLookupThroughLDAP(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, searchConfig))
	chain, err := authn.NewChain([]authn.Link{{Authenticator: b}}, nil, 4, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if !chain.CanLookup("corp") {
		t.Fatal("chain cannot look up ldap users: refresh tokens would never be issued")
	}
	id := mustLookup(t, chain, "carol", true)
	if !id.Admin || id.Source != "corp" {
		t.Fatalf("identity %+v", id)
	}
	mustLookup(t, chain, "erin", false)
}

func TestAdminAccounts(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, searchConfig))
	b.SetAdminAccounts([]string{"bob"})
	if id := mustDecide(t, b, "bob", "bob-pw", authn.Grant).Identity; !id.Admin {
		t.Fatalf("bob listed in admins is not admin: %+v", id)
	}
	if id := mustLookup(t, b, "bob", true); !id.Admin {
		t.Fatalf("lookup of bob: %+v", id)
	}
	if id := mustDecide(t, b, "alice", "alice-pw", authn.Grant).Identity; id.Admin {
		t.Fatalf("alice became admin: %+v", id)
	}
}
