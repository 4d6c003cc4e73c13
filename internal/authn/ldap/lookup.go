package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/portcullis/portcullis/internal/authn"
)

var (
	_ authn.UserLookup    = (*Backend)(nil)
	_ authn.UserDecider   = (*Backend)(nil)
	_ authn.LookupLimited = (*Backend)(nil)
)

// CanLookupUsers implements authn.LookupLimited: only with a service
// account. Without one, refresh tokens are not issued to this backend's
// users: they could never be used (LookupUser finds nobody), and docker
// would store one instead of the password and fail every later request.
func (b *Backend) CanLookupUsers() bool { return b.cfg.BindDN != "" }

// LookupUser implements authn.UserLookup: it reads the user's entry as the
// service account, without the user's password, so that app tokens and
// refresh tokens of directory users keep their labels and stop working as
// soon as the account is removed, disabled or locked in the directory.
//
// user is an account name as a grant carried it: when account_attribute is
// set, the entry is found by that attribute (within the population
// user_filter selects), else by user_filter itself; either way, another
// spelling of the name than the directory's ("ALICE" for alice) is not
// found.
//
// Without a service account (direct bind and no bind_dn) the directory
// cannot be read without the user's password: every lookup answers
// "unknown", so such users get neither working app tokens nor refresh
// tokens, which is logged once.
func (b *Backend) LookupUser(ctx context.Context, user string) (*authn.Identity, bool, error) {
	id, d, err := b.DecideUser(ctx, user)
	return id, d == authn.Grant, err
}

// DecideUser implements authn.UserDecider with the answers a password
// login gets: a disabled, locked or ambiguous entry is a deny (so the
// chain does not look for the name in a later authenticator), an unknown
// name an abstain, or a deny with unknown_user: deny.
func (b *Backend) DecideUser(ctx context.Context, user string) (*authn.Identity, authn.Decision, error) {
	if !validUsername(user) {
		return nil, b.unknown("invalid user name").Decision, nil
	}
	if b.cfg.BindDN == "" {
		b.noLookup.Do(func() {
			b.logger.WarnContext(ctx, "ldap: without bind_dn users cannot be looked up; app tokens and refresh tokens of this authenticator's users are refused", "authenticator", b.name)
		})
		return nil, authn.Abstain, nil
	}
	var (
		id *authn.Identity
		d  authn.Decision
	)
	err := b.withConn(ctx, b.pool, func(c *conn) error {
		var err error
		id, d, err = b.lookupOn(ctx, c, user)
		return err
	})
	if err != nil {
		b.counters.errors.Add(1)
		if !errors.Is(err, authn.ErrBackend) {
			b.logger.ErrorContext(ctx, "ldap user lookup refused", "authenticator", b.name, "user", user, "err", err)
			err = fmt.Errorf("%w: user lookup: %w", authn.ErrBackend, err)
		}
		return nil, authn.Abstain, err
	}
	return id, d, nil
}

// lookupOn reads user's entry on c. A returned error means no answer.
func (b *Backend) lookupOn(ctx context.Context, c *conn, user string) (*authn.Identity, authn.Decision, error) {
	if err := b.bindService(c); err != nil {
		return nil, authn.Abstain, fmt.Errorf("service account bind: %w", err)
	}
	attrs := b.entryAttributes()
	var entry *ldap.Entry
	if b.cfg.UserFilter != "" {
		entries, err := b.search(c, b.cfg.BaseDN, ldap.ScopeWholeSubtree, b.lookupFilter(user), attrs, 2)
		switch {
		case errors.Is(err, errTooMany) || err == nil && len(entries) > 1:
			b.logger.WarnContext(ctx, "ldap user lookup matches several entries; user refused", "authenticator", b.name, "user", user, "server", c.server)
			return nil, authn.Deny, nil
		case err != nil:
			return nil, authn.Abstain, fmt.Errorf("user search: %w", err)
		case len(entries) == 0:
			return nil, b.unknown("unknown user").Decision, nil
		}
		entry = entries[0]
	} else {
		e, err := b.readEntry(c, userDN(b.cfg.UserDNTemplate, user), attrs)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil, b.unknown("unknown user").Decision, nil
		}
		if err != nil {
			return nil, authn.Abstain, fmt.Errorf("read user entry: %w", err)
		}
		entry = e
	}
	if !b.accountOf(entry, user) {
		// The filter matched on another attribute than the account one, or
		// on another spelling of the name: user is not an account name a
		// grant could have carried.
		return nil, authn.Abstain, nil
	}
	disabled, err := b.disabled(c, entry)
	if err != nil {
		return nil, authn.Abstain, err
	}
	if disabled {
		return nil, authn.Deny, nil
	}
	id, err := b.identity(ctx, c, user, entry)
	if err != nil {
		return nil, authn.Abstain, err
	}
	return id, authn.Grant, nil
}

// lookupFilter finds an account by name. Without account_attribute it is
// the login filter. With it, the account attribute must equal the name and
// the rest of user_filter still applies, with {username} turned into a
// presence (or substring) test: (&(objectClass=person)(uid={username}))
// becomes (&(mail=NAME)(&(objectClass=person)(uid=*))).
func (b *Backend) lookupFilter(user string) string {
	a := b.cfg.AccountAttribute
	if a == "" {
		return userFilter(b.cfg.UserFilter, user)
	}
	population := strings.ReplaceAll(b.cfg.UserFilter, "{username}", "*")
	return "(&(" + ldap.EscapeFilter(a) + "=" + ldap.EscapeFilter(user) + ")" + population + ")"
}

// accountOf reports whether user is the account name a grant for entry
// carries: a value of account_attribute, or else the directory's spelling
// of the name (when the entry shows it).
func (b *Backend) accountOf(entry *ldap.Entry, user string) bool {
	if a := b.cfg.AccountAttribute; a != "" {
		return slices.Contains(entry.GetEqualFoldAttributeValues(a), user)
	}
	return b.accountName(entry, user) == user
}
