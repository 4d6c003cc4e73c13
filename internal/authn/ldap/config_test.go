package ldap

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestConfigValidation: every mistake in an ldap section is refused at
// load time with a message that names the field.
func TestConfigValidation(t *testing.T) {
	const base = `
urls: [ldaps://ldap.example.org]
bind_dn: cn=svc,dc=example,dc=org
bind_password: x
base_dn: dc=example,dc=org
user_filter: (uid={username})
`
	const p = "authn.chain[0].ldap."
	for _, tc := range []struct {
		name, body string
		extra      []string
		want       string // field, then a word of the message
	}{
		{"no urls", strings.Replace(base, "urls: [ldaps://ldap.example.org]", "", 1), nil, p + "urls: must list"},
		{"plain ldap", strings.Replace(base, "ldaps://", "ldap://", 1), nil, p + "urls[0]: ldap:// without start_tls"},
		{"start_tls on ldaps", base, []string{"start_tls: true"}, p + "urls[0]: ldaps:// is already TLS"},
		{"no host", strings.Replace(base, "ldaps://ldap.example.org", "ldaps://:636", 1), nil, p + `urls[0]: needs a host name: "ldaps://:636"`},
		{"scheme", strings.Replace(base, "ldaps://", "http://", 1), nil, p + `urls[0]: scheme must be ldap or ldaps`},
		{"dn in url", strings.Replace(base, "ldap.example.org", "ldap.example.org/dc=example", 1), nil, p + "urls[0]: must not carry a DN"},
		{"bind_dn without password", strings.Replace(base, "bind_password: x", "", 1), nil, p + "bind_password: bind_dn needs"},
		{"both passwords", base, []string{"bind_password_file: /x"}, p + "bind_password_file: set bind_password or"},
		{"password without bind_dn", strings.Replace(base, "bind_dn: cn=svc,dc=example,dc=org", "", 1), nil, p + "bind_dn: must be set"},
		{"filter without placeholder", strings.Replace(base, "{username}", "alice", 1), nil, p + "user_filter: must contain {username}"},
		{"filter syntax", strings.Replace(base, "(uid={username})", "(uid={username}", 1), nil, p + "user_filter: not a valid LDAP filter"},
		{"filter and template", base, []string{"user_dn_template: uid={username},dc=example,dc=org"}, p + "user_filter: set user_filter"},
		{"neither filter nor template", strings.Replace(base, "user_filter: (uid={username})", "", 1), nil, p + "user_filter: set user_filter"},
		{"no base_dn", strings.Replace(base, "base_dn: dc=example,dc=org", "", 1), nil, p + "base_dn: must be set"},
		{"base_dn not a DN", strings.Replace(base, "base_dn: dc=example,dc=org", "base_dn: dc=example,,dc=org", 1), nil, p + "base_dn: not a valid DN"},
		{"template not a DN", strings.Replace(base, "user_filter: (uid={username})", "", 1), []string{"user_dn_template: '{username}@example.org'"}, p + "user_dn_template: not a valid DN"},
		{"unknown_user", base, []string{"unknown_user: maybe"}, p + `unknown_user: must be abstain or deny, not "maybe"`},
		{"pool_size", base, []string{"pool_size: 100"}, p + "pool_size: must be between 1 and 64"},
		{"timeout", base, []string{"search_timeout: 1h"}, p + "search_timeout: must be between"},
		{"cache_ttl", base, []string{"cache_ttl: -1s"}, p + "cache_ttl: must not be negative"},
		{"disabled_filter", base, []string{"disabled_filter: employeeType=disabled)"}, p + "disabled_filter: not a valid LDAP filter"},
		{"group search without base", base, []string{"group_search: {filter: '(member={dn})'}"}, p + "group_search.base_dn: must be set"},
		{"group search base not a DN", base, []string{"group_search: {base_dn: 'ou=groups,', filter: '(member={dn})'}"}, p + "group_search.base_dn: not a valid DN"},
		{"group filter without placeholder", base, []string{"group_search: {base_dn: 'ou=groups,dc=example,dc=org', filter: '(cn=x)'}"}, p + "group_search.filter: must contain {dn} or {username}"},
		{"admin_groups without groups", base, []string{"admin_groups: [admins]"}, p + "admin_groups: needs group_search or a labels entry"},
		{"admin_groups with groups elsewhere", base, []string{"admin_groups: [admins]",
			"group_search: {base_dn: 'ou=groups,dc=example,dc=org', filter: '(member={dn})', label: teams}"}, p + `admin_groups: needs group_search or a labels entry for "groups"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseLDAPErr(&testenv.Slapd{}, tc.body, tc.extra...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		for _, extra := range [][]string{
			nil,
			{"admin_groups: [admins]", "labels: {groups: memberOf}"},
			{"admin_groups: [admins]", "group_search: {base_dn: 'ou=groups,dc=example,dc=org', filter: '(member={dn})'}"},
			{"admin_groups: [admins]", "groups_label: teams", "group_search: {base_dn: 'ou=groups,dc=example,dc=org', filter: '(member={dn})'}"},
		} {
			if _, err := parseLDAPErr(&testenv.Slapd{}, base, extra...); err != nil {
				t.Fatalf("%v: %v", extra, err)
			}
		}
	})
}
