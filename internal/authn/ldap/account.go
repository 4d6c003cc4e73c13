package ldap

import (
	"regexp"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/portcullis/portcullis/internal/config"
)

// Directories compare user names with matching rules that ignore case and
// fold compatibility forms: "ALICE" and "ａｌｉｃｅ" find and bind alice's
// entry. The account a grant carries must therefore be the directory's
// spelling of the name, not the login's, or ACL rules on account names
// (deny rules, ${account}, admins) would see one directory user as many
// accounts.

// nameAssertion is an equality assertion of user_filter on {username}.
var nameAssertion = regexp.MustCompile(`\(([A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)=\{username\}\)`)

// nameAttribute is the attribute user_filter or user_dn_template compares
// the user name with, when there is exactly one: every {username} of the
// filter stands alone as the value of an equality assertion on the same
// attribute, or the template's {username} is the whole value of one RDN.
// "" when it cannot be told.
func nameAttribute(cfg config.LDAPConfig) string {
	if f := cfg.UserFilter; f != "" {
		ms := nameAssertion.FindAllStringSubmatch(f, -1)
		if len(ms) == 0 || len(ms) != strings.Count(f, "{username}") {
			return ""
		}
		for _, m := range ms[1:] {
			if !strings.EqualFold(m[1], ms[0][1]) {
				return ""
			}
		}
		return ms[0][1]
	}
	const marker = "portcullis-username-marker"
	if strings.Count(cfg.UserDNTemplate, "{username}") != 1 {
		return ""
	}
	dn, err := ldap.ParseDN(strings.ReplaceAll(cfg.UserDNTemplate, "{username}", marker))
	if err != nil {
		return ""
	}
	for _, rdn := range dn.RDNs {
		for _, a := range rdn.Attributes {
			if a.Value == marker {
				return a.Type
			}
		}
	}
	return ""
}

// spelling returns the value of attr in entry that names the user typed:
// the value equal to typed, else one equal without regard to case, else
// the first. ok is false when the entry has no value of attr.
func spelling(entry *ldap.Entry, attr, typed string) (string, bool) {
	vals := entry.GetEqualFoldAttributeValues(attr)
	for _, v := range vals {
		if v == typed {
			return v, true
		}
	}
	for _, v := range vals {
		if strings.EqualFold(v, typed) {
			return v, true
		}
	}
	if len(vals) > 0 {
		return vals[0], true
	}
	return "", false
}

// directoryName is the user's name as the directory spells it (the value
// of the attribute user_filter or user_dn_template compares it with), or
// typed when that attribute is unknown or unreadable.
func (b *Backend) directoryName(entry *ldap.Entry, typed string) string {
	if b.nameAttr == "" {
		return typed
	}
	if v, ok := spelling(entry, b.nameAttr, typed); ok {
		return v
	}
	return typed
}

// accountName is the account a grant for entry carries: the value of
// account_attribute when set and present, else the directory's spelling of
// the name.
func (b *Backend) accountName(entry *ldap.Entry, typed string) string {
	if a := b.cfg.AccountAttribute; a != "" {
		if v, ok := spelling(entry, a, typed); ok {
			return v
		}
	}
	return b.directoryName(entry, typed)
}
