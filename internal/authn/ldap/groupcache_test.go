package ldap

import (
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
)

func TestGroupCacheTTL(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, `
urls: [{{.URL}}]
start_tls: true
ca_file: {{.CAFile}}
bind_dn: cn=portcullis-svc,ou=services,dc=example,dc=org
bind_password: svc-secret
base_dn: ou=people,dc=example,dc=org
user_filter: (uid={username})
group_search:
  base_dn: ou=groups,dc=example,dc=org
  filter: (&(objectClass=groupOfNames)(member={dn}))
  label: teams
group_cache_ttl: 1m
admin_groups: [registry-admins]
groups_label: teams
`))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return now }
	groups := func() ([]string, bool) {
		id := mustDecide(t, b, "alice", "alice-pw", authn.Grant).Identity
		return slices.Sorted(slices.Values(id.Labels["teams"])), id.Admin
	}
	if g, admin := groups(); !slices.Equal(g, []string{"team-a"}) || admin {
		t.Fatalf("groups %v admin %v", g, admin)
	}
	s.Modify("dn: cn=registry-admins,ou=groups,dc=example,dc=org\nchangetype: modify\nadd: member\nmember: uid=alice,ou=people,dc=example,dc=org\n")

	now = now.Add(59 * time.Second)
	if g, admin := groups(); !slices.Equal(g, []string{"team-a"}) || admin {
		t.Fatalf("within the TTL: groups %v admin %v, want the cached ones", g, admin)
	}
	if b.Stats().GroupCacheHits != 1 {
		t.Fatalf("stats %+v", b.Stats())
	}
	now = now.Add(2 * time.Second)
	if g, admin := groups(); !slices.Equal(g, []string{"registry-admins", "team-a"}) || !admin {
		t.Fatalf("after the TTL: groups %v admin %v", g, admin)
	}
}

func TestCacheTTL(t *testing.T) {
	s := startDirectory(t)
	cases := []struct {
		extra []string
		want  time.Duration
	}{
		{nil, 0},
		{[]string{"cache_ttl: 30s"}, 30 * time.Second},
		{[]string{"cache: false"}, -1},
		{[]string{"cache: false", "cache_ttl: 30s"}, -1},
	}
	for _, tc := range cases {
		b := newBackend(t, parseLDAP(t, s, searchConfig, tc.extra...))
		if got := b.CacheTTL(); got != tc.want {
			t.Errorf("%v: CacheTTL %s, want %s", tc.extra, got, tc.want)
		}
		if ok, err := b.Revalidate(t.Context(), &authn.Identity{Account: "alice"}); !ok || err != nil {
			t.Errorf("Revalidate %v %v", ok, err)
		}
	}
}
