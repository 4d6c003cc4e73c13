package ldap

import (
	"slices"
	"testing"

	"github.com/portcullis/portcullis/internal/authn"
)

func TestSearchThenBind(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, searchConfig))

	t.Run("grant with labels", func(t *testing.T) {
		res := mustDecide(t, b, "alice", "alice-pw", authn.Grant)
		id := res.Identity
		if id.Account != "alice" || id.Source != "corp" || id.Kind != authn.KindPassword || id.Admin {
			t.Fatalf("identity %+v", id)
		}
		if !slices.Equal(id.Labels["groups"], []string{"team-a"}) || !slices.Equal(id.Labels["email"], []string{"alice@example.org"}) {
			t.Fatalf("labels %s", fmtLabels(id.Labels))
		}
	})
	t.Run("admin group", func(t *testing.T) {
		id := mustDecide(t, b, "carol", "carol-pw", authn.Grant).Identity
		if !id.Admin {
			t.Fatalf("carol (registry-admins) not admin: %+v", id)
		}
		slices.Sort(id.Labels["groups"])
		if !slices.Equal(id.Labels["groups"], []string{"registry-admins", "team-b"}) {
			t.Fatalf("groups %v", id.Labels["groups"])
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		res := mustDecide(t, b, "alice", "bob-pw", authn.Deny)
		if res.Reason != "wrong password" {
			t.Fatalf("reason %q", res.Reason)
		}
	})
	t.Run("empty password never binds", func(t *testing.T) {
		res := mustDecide(t, b, "alice", "", authn.Deny)
		tr, err := b.Lookup(t.Context(), "alice", "")
		if err != nil || tr.Bind != "not attempted" || tr.DN != "" {
			t.Fatalf("reason %q, trace %+v, err %v", res.Reason, tr, err)
		}
	})
	t.Run("unknown user abstains", func(t *testing.T) {
		mustDecide(t, b, "mallory", "x", authn.Abstain)
	})
	t.Run("ambiguous user denied", func(t *testing.T) {
		res := mustDecide(t, b, "twin", "twin-pw", authn.Deny)
		if res.Reason != "ambiguous user" {
			t.Fatalf("reason %q", res.Reason)
		}
	})
	t.Run("locked and disabled accounts", func(t *testing.T) {
		for _, u := range []string{"dave", "erin"} {
			res := mustDecide(t, b, u, u+"-pw", authn.Deny)
			if res.Reason != "account disabled" {
				t.Fatalf("%s: reason %q", u, res.Reason)
			}
		}
	})
	t.Run("special characters", func(t *testing.T) {
		id := mustDecide(t, b, specialUser, specialPass, authn.Grant).Identity
		if id.Account != specialUser {
			t.Fatalf("account %q", id.Account)
		}
		mustDecide(t, b, specialUser, "alice-pw", authn.Deny)
	})
	t.Run("filter injection", func(t *testing.T) {
		for _, u := range []string{"*", "alice)(uid=*", "*)(|(uid=*", "alic*", "alice)(|(objectClass=*)", `alice\`, "(uid=alice)", "alice\x00"} {
			for _, pw := range []string{"alice-pw", "x"} {
				res, err := login(t, b, u, pw)
				if err != nil {
					t.Fatalf("%q: error %v", u, err)
				}
				if res.Decision == authn.Grant {
					t.Fatalf("%q/%q granted as %+v", u, pw, res.Identity)
				}
			}
		}
	})
	t.Run("invalid user names abstain without a search", func(t *testing.T) {
		for _, u := range []string{"", "a\nb", string(make([]byte, 300))} {
			tr, err := b.Lookup(t.Context(), u, "x")
			if err != nil || tr.Decision != authn.Abstain || tr.Filter != "" {
				t.Fatalf("%q: %+v %v", u, tr, err)
			}
		}
	})
}

func TestDisabledChecksAreWhatDenies(t *testing.T) {
	s := startDirectory(t)
	// Without disabled_attribute and disabled_filter the same accounts bind:
	// the denials above come from the checks, not from the directory.
	b := newBackend(t, parseLDAP(t, s, `
urls: [{{.URL}}]
start_tls: true
ca_file: {{.CAFile}}
bind_dn: cn=portcullis-svc,ou=services,dc=example,dc=org
bind_password: svc-secret
base_dn: ou=people,dc=example,dc=org
user_filter: (uid={username})
`))
	for _, u := range []string{"dave", "erin"} {
		mustDecide(t, b, u, u+"-pw", authn.Grant)
	}
}

func TestUnknownUserDeny(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, searchConfig, "unknown_user: deny"))
	res := mustDecide(t, b, "mallory", "x", authn.Deny)
	if res.Reason != "unknown user" {
		t.Fatalf("reason %q", res.Reason)
	}
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
}
