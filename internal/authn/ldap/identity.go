package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/portcullis/portcullis/internal/authn"
)

// identity builds the granted identity: account name (as the directory
// spells it), labels from entry attributes and groups, admin flag from
// admin_groups and the admins list.
func (b *Backend) identity(ctx context.Context, c *conn, user string, entry *ldap.Entry) (*authn.Identity, error) {
	labels := map[string][]string{}
	for label, attr := range b.cfg.Labels {
		for _, v := range entry.GetEqualFoldAttributeValues(attr) {
			labels[label] = appendUnique(labels[label], b.labelValue(v))
		}
	}
	if g := b.cfg.GroupSearch; g != nil {
		names, err := b.userGroups(ctx, c, entry.DN, b.directoryName(entry, user))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			labels[g.Label] = appendUnique(labels[g.Label], n)
		}
	}
	admin := false
	for _, g := range labels[b.cfg.GroupsLabel] {
		if b.adminGroups[strings.ToLower(g)] {
			admin = true
		}
	}
	account := b.accountName(entry, user)
	if b.adminAccounts[account] {
		admin = true
	}
	return &authn.Identity{Account: account, Labels: labels, Admin: admin, Source: b.name, Kind: authn.KindPassword}, nil
}

// labelValue turns a DN value such as memberOf's
// "cn=team-a,ou=groups,dc=example,dc=org" into "team-a" when cn_from_dn is
// set; other values are kept as they are.
func (b *Backend) labelValue(v string) string {
	if !b.cfg.CNFromDN {
		return v
	}
	return cnFromDN(v)
}

func cnFromDN(v string) string {
	if !strings.Contains(v, "=") {
		return v
	}
	dn, err := ldap.ParseDN(v)
	if err != nil || len(dn.RDNs) == 0 || len(dn.RDNs[0].Attributes) == 0 {
		return v
	}
	first := dn.RDNs[0].Attributes[0]
	if !strings.EqualFold(first.Type, "cn") {
		return v
	}
	return first.Value
}

func appendUnique(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// maxGroups bounds the groups read for one user.
const maxGroups = 1000

// userGroups returns the names of the groups that list dn, from the group
// cache when fresh.
func (b *Backend) userGroups(ctx context.Context, c *conn, dn, user string) ([]string, error) {
	key := strings.ToLower(dn)
	if names, ok := b.groups.get(key, b.now()); ok {
		b.counters.groupCacheHits.Add(1)
		return names, nil
	}
	g := b.cfg.GroupSearch
	filter := groupFilter(g.Filter, dn, user)
	entries, err := b.search(c, g.BaseDN, ldap.ScopeWholeSubtree, filter, []string{g.Attribute}, maxGroups)
	if err == errTooMany {
		b.logger.WarnContext(ctx, "ldap group search hit its size limit; groups truncated", "authenticator", b.name, "dn", dn, "limit", maxGroups)
	} else if err != nil {
		return nil, fmt.Errorf("group search: %w", err)
	}
	var names []string
	for _, e := range entries {
		for _, v := range e.GetEqualFoldAttributeValues(g.Attribute) {
			names = appendUnique(names, b.labelValue(v))
		}
	}
	b.groups.put(key, names, b.now())
	return names, nil
}
