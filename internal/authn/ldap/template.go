package ldap

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// maxUsernameLen bounds user names before they reach the directory.
const maxUsernameLen = 256

// validUsername reports whether name can be a directory user name: not
// empty, bounded, valid UTF-8, free of control characters and of leading
// or trailing spaces. Anything else is refused before a filter or DN is
// built from it. Spaces are refused because directory matching rules
// ignore them: " alice" would bind as alice yet be a different account
// name to the ACL.
func validUsername(name string) bool {
	if name == "" || len(name) > maxUsernameLen || !utf8.ValidString(name) || strings.TrimSpace(name) != name {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// userFilter fills {username} in tmpl with the filter-escaped name
// (RFC 4515: `*`, `(`, `)`, `\`, NUL and non-ASCII bytes become \XX), so
// the name can only ever be an assertion value, never filter syntax.
func userFilter(tmpl, username string) string {
	return strings.ReplaceAll(tmpl, "{username}", ldap.EscapeFilter(username))
}

// groupFilter fills {dn} and {username} in tmpl, both filter-escaped.
func groupFilter(tmpl, dn, username string) string {
	return strings.NewReplacer("{dn}", ldap.EscapeFilter(dn), "{username}", ldap.EscapeFilter(username)).Replace(tmpl)
}

// userDN fills {username} in tmpl with the DN-escaped name (RFC 4514:
// `,+"\<>;`, leading `#` or space, trailing space), so the name can only
// ever be one attribute value of one RDN.
func userDN(tmpl, username string) string {
	return strings.ReplaceAll(tmpl, "{username}", ldap.EscapeDN(username))
}
