package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig configures one LDAP authenticator in the chain. This file is
// owned by the LDAP backend; the root Config only refers to it.
//
// Users are found either by search-then-bind (bind_dn, base_dn and
// user_filter: the service account searches the user's entry, then the
// user's DN is bound with the presented password) or by direct bind
// (user_dn_template: the DN is built from the user name and bound at once).
type LDAPConfig struct {
	// URLs are the directory servers, tried in order until one answers
	// (ldap:// or ldaps://).
	URLs []string `yaml:"urls"`
	// StartTLS upgrades ldap:// connections with the StartTLS operation.
	StartTLS bool `yaml:"start_tls"`
	// CAFile is a PEM bundle of CAs trusted for the servers' certificates;
	// empty means the system roots.
	CAFile string `yaml:"ca_file"`
	// ServerName overrides the name checked in the server certificate
	// (default: the host of each URL).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns off certificate checks. Anyone on the path
	// can then read passwords; it is refused unless set explicitly and is
	// warned about on every start.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// AllowPlaintext permits ldap:// without StartTLS, which sends
	// passwords in clear text; warned about on every start.
	AllowPlaintext bool `yaml:"allow_plaintext"`

	// BindDN and BindPassword (or BindPasswordFile, whose content with the
	// trailing newline removed is the password) are the service account
	// that searches users and groups.
	BindDN           string `yaml:"bind_dn"`
	BindPassword     string `yaml:"bind_password"`
	BindPasswordFile string `yaml:"bind_password_file"`

	// BaseDN is where users are searched (subtree).
	BaseDN string `yaml:"base_dn"`
	// UserFilter finds the user's entry; {username} is replaced by the
	// filter-escaped user name, e.g.
	// (&(objectClass=inetOrgPerson)(uid={username})).
	UserFilter string `yaml:"user_filter"`
	// UserDNTemplate builds the user's DN for a direct bind; {username} is
	// replaced by the DN-escaped user name, e.g.
	// uid={username},ou=people,dc=example,dc=org. Exclusive with
	// user_filter.
	UserDNTemplate string `yaml:"user_dn_template"`
	// AccountAttribute, when set, names the attribute whose value becomes
	// the account name. Default: the value, as the directory spells it, of
	// the attribute user_filter or user_dn_template compares {username}
	// with (uid in (uid={username})), so "ALICE" and "alice" are one
	// account; the name as typed only when no single attribute is.
	AccountAttribute string `yaml:"account_attribute"`

	// Labels maps label names to attributes of the user's entry, e.g.
	// {email: mail, groups: memberOf}. ACL rules match labels.
	Labels map[string]string `yaml:"labels"`
	// CNFromDN replaces label values that are DNs starting with CN= by
	// that CN (memberOf values become group names).
	CNFromDN bool `yaml:"cn_from_dn"`
	// GroupSearch finds groups that list the user as a member.
	GroupSearch *LDAPGroupSearch `yaml:"group_search"`
	// AdminGroups: members of any of these groups (compared without regard
	// to case with the values of the groups label) are administrators.
	AdminGroups []string `yaml:"admin_groups"`
	// GroupsLabel is the label that holds group names, filled by
	// group_search and checked for admin_groups; default "groups".
	GroupsLabel string `yaml:"groups_label"`

	// DisabledAttribute denies accounts that have this attribute with any
	// value (e.g. pwdAccountLockedTime).
	DisabledAttribute string `yaml:"disabled_attribute"`
	// DisabledFilter denies accounts whose entry matches this filter, e.g.
	// (employeeType=disabled) or, for Active Directory,
	// (userAccountControl:1.2.840.113556.1.4.803:=2).
	DisabledFilter string `yaml:"disabled_filter"`
	// UnknownUser is what a user name the directory does not hold gives:
	// "abstain" (default: the next authenticator is asked) or "deny".
	UnknownUser string `yaml:"unknown_user"`

	// PoolSize bounds the open directory connections (default 4).
	PoolSize int `yaml:"pool_size"`
	// DialTimeout bounds connecting (TCP and TLS) to one server; BindTimeout
	// and SearchTimeout bound each operation. Defaults 5s.
	DialTimeout   time.Duration `yaml:"dial_timeout"`
	BindTimeout   time.Duration `yaml:"bind_timeout"`
	SearchTimeout time.Duration `yaml:"search_timeout"`
	// GroupCacheTTL keeps a user's groups (the group_search result) this
	// long, default 1m; a negative value searches groups on every login.
	GroupCacheTTL time.Duration `yaml:"group_cache_ttl"`
	// Cache: false keeps this backend's grants out of the
	// verified-credential cache (every login binds). CacheTTL, when set,
	// replaces authn.cache.ttl for this backend's grants.
	Cache    *bool         `yaml:"cache"`
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// LDAPGroupSearch finds a user's groups by searching group entries.
type LDAPGroupSearch struct {
	// BaseDN is where groups are searched (subtree).
	BaseDN string `yaml:"base_dn"`
	// Filter selects the user's groups; {dn} is the filter-escaped DN of
	// the user and {username} the filter-escaped user name, e.g.
	// (&(objectClass=groupOfNames)(member={dn})).
	Filter string `yaml:"filter"`
	// Attribute holds the group name (default cn).
	Attribute string `yaml:"attribute"`
	// Label is the label the names go to (default: groups_label).
	Label string `yaml:"label"`
}

// CacheOn reports whether this backend's grants may be cached (default
// true).
func (c *LDAPConfig) CacheOn() bool { return c.Cache == nil || *c.Cache }

func (c *LDAPConfig) setDefaults() {
	if c.UnknownUser == "" {
		c.UnknownUser = "abstain"
	}
	if c.PoolSize == 0 {
		c.PoolSize = 4
	}
	for _, d := range []*time.Duration{&c.DialTimeout, &c.BindTimeout, &c.SearchTimeout} {
		if *d == 0 {
			*d = 5 * time.Second
		}
	}
	if c.GroupCacheTTL == 0 {
		c.GroupCacheTTL = time.Minute
	}
	if c.GroupsLabel == "" {
		c.GroupsLabel = "groups"
	}
	if g := c.GroupSearch; g != nil {
		if g.Attribute == "" {
			g.Attribute = "cn"
		}
		if g.Label == "" {
			g.Label = c.GroupsLabel
		}
	}
}

func (c *LDAPConfig) validate(v *Validator, path string) {
	if len(c.URLs) == 0 {
		v.Errorf(path+".urls", "must list at least one ldap:// or ldaps:// URL")
	}
	for i, raw := range c.URLs {
		p := fmt.Sprintf("%s.urls[%d]", path, i)
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			v.Errorf(p, "not a URL: %q", raw)
			continue
		}
		if u.Hostname() == "" {
			v.Errorf(p, "needs a host name: %q", raw)
		}
		switch u.Scheme {
		case "ldaps":
			if c.StartTLS {
				v.Errorf(p, "ldaps:// is already TLS; start_tls applies to ldap:// URLs only")
			}
		case "ldap":
			if !c.StartTLS && !c.AllowPlaintext {
				v.Errorf(p, "ldap:// without start_tls sends passwords in clear text; set start_tls: true, use ldaps://, or set allow_plaintext: true")
			}
		default:
			v.Errorf(p, "scheme must be ldap or ldaps, not %q", u.Scheme)
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			v.Errorf(p, "must not carry a DN or query (use base_dn and user_filter)")
		}
	}
	if c.BindDN != "" && c.BindPassword == "" && c.BindPasswordFile == "" {
		v.Errorf(path+".bind_password", "bind_dn needs bind_password or bind_password_file (an empty password would be an anonymous bind)")
	}
	if c.BindPassword != "" && c.BindPasswordFile != "" {
		v.Errorf(path+".bind_password_file", "set bind_password or bind_password_file, not both")
	}
	if c.BindDN == "" && (c.BindPassword != "" || c.BindPasswordFile != "") {
		v.Errorf(path+".bind_dn", "must be set when a bind password is given")
	}
	switch {
	case c.UserFilter != "" && c.UserDNTemplate != "":
		v.Errorf(path+".user_filter", "set user_filter (search-then-bind) or user_dn_template (direct bind), not both")
	case c.UserFilter != "":
		if !strings.Contains(c.UserFilter, "{username}") {
			v.Errorf(path+".user_filter", "must contain {username}")
		}
		if c.BaseDN == "" {
			v.Errorf(path+".base_dn", "must be set for user_filter")
		} else if _, err := ldap.ParseDN(c.BaseDN); err != nil {
			v.Errorf(path+".base_dn", "not a valid DN: %v", err)
		}
		if c.BindDN == "" {
			v.Errorf(path+".bind_dn", "search-then-bind needs a service account (anonymous searches are not used)")
		}
	case c.UserDNTemplate != "":
		if !strings.Contains(c.UserDNTemplate, "{username}") {
			v.Errorf(path+".user_dn_template", "must contain {username}")
		}
	default:
		v.Errorf(path+".user_filter", "set user_filter (search-then-bind) or user_dn_template (direct bind)")
	}
	if c.UnknownUser != "abstain" && c.UnknownUser != "deny" {
		v.Errorf(path+".unknown_user", "must be abstain or deny, not %q", c.UnknownUser)
	}
	if c.PoolSize < 1 || c.PoolSize > 64 {
		v.Errorf(path+".pool_size", "must be between 1 and 64, got %d", c.PoolSize)
	}
	for name, d := range map[string]time.Duration{"dial_timeout": c.DialTimeout, "bind_timeout": c.BindTimeout, "search_timeout": c.SearchTimeout} {
		if d < 0 || d > 5*time.Minute {
			v.Errorf(path+"."+name, "must be between 0 and 5m, got %s", d)
		}
	}
	if c.CacheTTL < 0 {
		v.Errorf(path+".cache_ttl", "must not be negative (use cache: false to never cache)")
	}
	for label, attr := range c.Labels {
		if label == "" || attr == "" {
			v.Errorf(path+".labels", "label and attribute names must not be empty")
		}
	}
	checkFilter := func(p, f string) {
		if f == "" {
			return
		}
		r := strings.NewReplacer("{username}", "x", "{dn}", "cn=x")
		if _, err := ldap.CompileFilter(r.Replace(f)); err != nil {
			v.Errorf(p, "not a valid LDAP filter: %v", err)
		}
	}
	checkFilter(path+".user_filter", c.UserFilter)
	checkFilter(path+".disabled_filter", c.DisabledFilter)
	if c.UserDNTemplate != "" {
		if _, err := ldap.ParseDN(strings.ReplaceAll(c.UserDNTemplate, "{username}", "x")); err != nil {
			v.Errorf(path+".user_dn_template", "not a valid DN: %v", err)
		}
	}
	if g := c.GroupSearch; g != nil {
		checkFilter(path+".group_search.filter", g.Filter)
		if g.BaseDN == "" {
			v.Errorf(path+".group_search.base_dn", "must be set")
		} else if _, err := ldap.ParseDN(g.BaseDN); err != nil {
			v.Errorf(path+".group_search.base_dn", "not a valid DN: %v", err)
		}
		if !strings.Contains(g.Filter, "{dn}") && !strings.Contains(g.Filter, "{username}") {
			v.Errorf(path+".group_search.filter", "must contain {dn} or {username}")
		}
	}
	if len(c.AdminGroups) > 0 && (c.GroupSearch == nil || c.GroupSearch.Label != c.GroupsLabel) && !c.labelsGroups() {
		v.Errorf(path+".admin_groups", "needs group_search or a labels entry for %q", c.GroupsLabel)
	}
}

func (c *LDAPConfig) labelsGroups() bool {
	_, ok := c.Labels[c.GroupsLabel]
	return ok
}
