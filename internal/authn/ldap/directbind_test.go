package ldap

import (
	"slices"
	"testing"

	"github.com/portcullis/portcullis/internal/authn"
)

func TestDirectBind(t *testing.T) {
	s := startDirectory(t)
	const direct = `
urls: [{{.LDAPSURL}}]
ca_file: {{.CAFile}}
user_dn_template: uid={username},ou=people,dc=example,dc=org
labels: {email: mail}
disabled_attribute: pwdAccountLockedTime
group_search:
  base_dn: ou=groups,dc=example,dc=org
  filter: (&(objectClass=groupOfNames)(member={dn}))
admin_groups: [registry-admins]
`
	t.Run("without service account", func(t *testing.T) {
		b := newBackend(t, parseLDAP(t, s, direct))
		id := mustDecide(t, b, "carol", "carol-pw", authn.Grant).Identity
		groups := slices.Sorted(slices.Values(id.Labels["groups"]))
		if !id.Admin || !slices.Equal(groups, []string{"registry-admins", "team-b"}) || !slices.Equal(id.Labels["email"], []string{"carol@example.org"}) {
			t.Fatalf("identity %+v", id)
		}
		if res := mustDecide(t, b, "carol", "alice-pw", authn.Deny); res.Reason != "wrong password" {
			t.Fatalf("reason %q", res.Reason)
		}
		mustDecide(t, b, "dave", "dave-pw", authn.Deny)
		mustDecide(t, b, specialUser, specialPass, authn.Grant)
		// Without a service account an unknown DN is indistinguishable
		// from a wrong password: the bind says invalidCredentials.
		mustDecide(t, b, "mallory", "x", authn.Deny)
		for _, u := range []string{"alice,ou=services", "*", "alice+cn=x", " alice", "#alice"} {
			if res, err := login(t, b, u, "alice-pw"); err != nil || res.Decision == authn.Grant {
				t.Fatalf("%q: %+v %v", u, res, err)
			}
		}
	})
	t.Run("with service account", func(t *testing.T) {
		b := newBackend(t, parseLDAP(t, s, direct, "bind_dn: "+svcDN, "bind_password: svc-secret"))
		mustDecide(t, b, "alice", "alice-pw", authn.Grant)
		mustDecide(t, b, "alice", "wrong", authn.Deny)
		if res := mustDecide(t, b, "mallory", "x", authn.Abstain); res.Reason != "unknown user" {
			t.Fatalf("reason %q", res.Reason)
		}
	})
}
