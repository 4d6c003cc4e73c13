package ldap

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"
	"github.com/portcullis/portcullis/internal/authn"
)

// maxPasswordLen bounds passwords sent to the directory.
const maxPasswordLen = 1024

// errTooMany is a search that found more entries than it may.
var errTooMany = errors.New("too many entries")

func (b *Backend) mode() string {
	if b.cfg.UserFilter != "" {
		return "search-then-bind"
	}
	return "direct-bind"
}

// login is the one code path behind Authenticate and Lookup. Every error
// it returns wraps authn.ErrBackend.
func (b *Backend) login(ctx context.Context, user, password string, tr *Trace) (authn.Result, error) {
	*tr = Trace{Mode: b.mode(), Bind: "not attempted"}
	var res authn.Result
	switch {
	case !validUsername(user):
		res = b.unknown("invalid user name")
	case password == "":
		// Never bind with an empty password: the directory would take it
		// as an anonymous bind and answer success.
		res = deny("empty password")
	case len(password) > maxPasswordLen:
		res = deny("password too long")
	default:
		err := b.withConn(ctx, b.pool, func(c *conn) error {
			*tr = Trace{Mode: b.mode(), Bind: "not attempted", Server: c.server}
			var err error
			res, err = b.loginOn(ctx, c, user, password, tr)
			return err
		})
		if err != nil {
			if !errors.Is(err, authn.ErrBackend) {
				// The directory answered but refused what the service
				// account (or the user's own session) must be able to do.
				b.logger.ErrorContext(ctx, "ldap request refused", "authenticator", b.name, "server", tr.Server, "err", err)
				err = fmt.Errorf("%w: %s: %w", authn.ErrBackend, tr.Server, err)
			}
			return authn.Result{}, err
		}
	}
	tr.Decision, tr.Reason = res.Decision, res.Reason
	if res.Identity != nil {
		tr.Account, tr.Labels, tr.Admin = res.Identity.Account, res.Identity.Labels, res.Identity.Admin
	}
	return res, nil
}

func deny(reason string) authn.Result {
	return authn.Result{Decision: authn.Deny, Reason: reason}
}

// unknown is the answer for a user the directory does not hold.
func (b *Backend) unknown(reason string) authn.Result {
	if b.cfg.UnknownUser == "deny" {
		return authn.Result{Decision: authn.Deny, Reason: reason}
	}
	return authn.Result{Decision: authn.Abstain, Reason: reason}
}

// loginOn runs one login on c. A returned error means no decision.
func (b *Backend) loginOn(ctx context.Context, c *conn, user, password string, tr *Trace) (authn.Result, error) {
	attrs := b.entryAttributes()
	var entry *ldap.Entry
	if b.cfg.UserFilter != "" {
		if err := b.bindService(c); err != nil {
			return authn.Result{}, fmt.Errorf("service account bind: %w", err)
		}
		tr.Filter = userFilter(b.cfg.UserFilter, user)
		entries, err := b.search(c, b.cfg.BaseDN, ldap.ScopeWholeSubtree, tr.Filter, attrs, 2)
		switch {
		case errors.Is(err, errTooMany) || err == nil && len(entries) > 1:
			b.logger.WarnContext(ctx, "ldap user filter matches several entries; login refused", "authenticator", b.name, "user", user, "server", c.server)
			return deny("ambiguous user"), nil
		case err != nil:
			return authn.Result{}, fmt.Errorf("user search: %w", err)
		case len(entries) == 0:
			return b.unknown("unknown user"), nil
		}
		entry = entries[0]
		tr.DN = entry.DN
	} else {
		tr.DN = userDN(b.cfg.UserDNTemplate, user)
		if b.cfg.BindDN != "" {
			// With a service account, an absent entry is told apart from a
			// wrong password (both are invalidCredentials to a bind).
			if err := b.bindService(c); err != nil {
				return authn.Result{}, fmt.Errorf("service account bind: %w", err)
			}
			e, err := b.readEntry(c, tr.DN, attrs)
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return b.unknown("unknown user"), nil
			}
			if err != nil {
				return authn.Result{}, fmt.Errorf("read user entry: %w", err)
			}
			entry = e
		}
	}

	if res, decided, err := b.bindUserOn(ctx, c, tr, password); decided || err != nil {
		return res, err
	}

	// What follows reads the directory as the service account when there is
	// one (c never left it), else as the user who just bound on c.
	if entry == nil {
		e, err := b.readEntry(c, tr.DN, attrs)
		if err != nil {
			return authn.Result{}, fmt.Errorf("read own entry after bind: %w", err)
		}
		entry = e
	}
	disabled, err := b.disabled(c, entry)
	if err != nil {
		return authn.Result{}, err
	}
	if disabled {
		tr.Disabled = true
		// After a successful bind: the client has shown the password.
		return authn.Result{Decision: authn.Deny, Reason: "account disabled", Public: "account disabled", Hashed: true}, nil
	}
	id, err := b.identity(ctx, c, user, entry)
	if err != nil {
		return authn.Result{}, err
	}
	return authn.Result{Decision: authn.Grant, Identity: id, Reason: "password ok", Hashed: true}, nil
}

// bindUserOn binds as the user: on a connection of the bind pool when
// there is a service account, so that c stays bound as the service
// account, else on c itself. A failure of the bind pool is reported as a
// settledError: it says nothing about c.
func (b *Backend) bindUserOn(ctx context.Context, c *conn, tr *Trace, password string) (authn.Result, bool, error) {
	if b.bindPool == nil {
		return b.bindUser(c, tr, password)
	}
	var (
		res     authn.Result
		decided bool
	)
	err := b.withConn(ctx, b.bindPool, func(bc *conn) error {
		var err error
		res, decided, err = b.bindUser(bc, tr, password)
		return err
	})
	if err != nil {
		if !errors.Is(err, authn.ErrBackend) {
			err = fmt.Errorf("%w: user bind: %w", authn.ErrBackend, err)
		}
		return authn.Result{}, true, &settledError{err: err}
	}
	return res, decided, nil
}

// bindUser binds c as tr.DN with password. decided is true when the bind
// itself settles the login (wrong password, refusal).
func (b *Backend) bindUser(c *conn, tr *Trace, password string) (res authn.Result, decided bool, err error) {
	c.l.SetTimeout(b.cfg.BindTimeout)
	c.state = boundUser
	b.counters.userBinds.Add(1)
	err = c.l.Bind(tr.DN, password)
	switch {
	case err == nil:
		tr.Bind = "ok"
		return authn.Result{}, false, nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		tr.Bind = "invalid credentials"
		return authn.Result{Decision: authn.Deny, Reason: "wrong password", Hashed: true}, true, nil
	case isBindRefusal(err):
		// The directory refused the bind for the account's sake (locked by
		// a password policy, inactivated, not allowed to log in): a
		// denial, not an outage.
		tr.Bind = "refused: " + bindRefusal(err)
		return authn.Result{Decision: authn.Deny, Reason: "bind refused", Hashed: true}, true, nil
	default:
		// The connection failed, or the directory could not answer
		// (operationsError, timeLimitExceeded, other, …): no decision, and
		// never a "wrong password" the user would be told.
		tr.Bind = "failed: " + bindRefusal(err)
		return authn.Result{}, true, fmt.Errorf("user bind: %w", err)
	}
}

// isBindRefusal reports whether a failed user bind is the directory
// refusing the account (besides invalidCredentials): constraintViolation
// (389 DS lockout), inappropriateAuthentication, insufficientAccessRights,
// unwillingToPerform (inactivated accounts).
func isBindRefusal(err error) bool {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return false
	}
	switch le.ResultCode {
	case ldap.LDAPResultConstraintViolation, ldap.LDAPResultInappropriateAuthentication,
		ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultUnwillingToPerform:
		return true
	}
	return false
}

func bindRefusal(err error) string {
	var le *ldap.Error
	if errors.As(err, &le) {
		if s, ok := ldap.LDAPResultCodeMap[le.ResultCode]; ok {
			return s
		}
	}
	return "error"
}

// entryAttributes lists the attributes a login reads from the user entry.
func (b *Backend) entryAttributes() []string {
	var attrs []string
	if b.cfg.AccountAttribute != "" {
		attrs = append(attrs, b.cfg.AccountAttribute)
	}
	if b.nameAttr != "" {
		attrs = append(attrs, b.nameAttr)
	}
	if b.cfg.DisabledAttribute != "" {
		attrs = append(attrs, b.cfg.DisabledAttribute)
	}
	for _, a := range b.cfg.Labels {
		attrs = append(attrs, a)
	}
	if len(attrs) == 0 {
		attrs = []string{"1.1"} // RFC 4511: no attributes
	}
	return attrs
}

// disabled reports whether the entry is locked or disabled.
func (b *Backend) disabled(c *conn, entry *ldap.Entry) (bool, error) {
	if a := b.cfg.DisabledAttribute; a != "" && len(entry.GetEqualFoldAttributeValues(a)) > 0 {
		return true, nil
	}
	if f := b.cfg.DisabledFilter; f != "" {
		entries, err := b.search(c, entry.DN, ldap.ScopeBaseObject, f, []string{"1.1"}, 1)
		if err != nil && !errors.Is(err, errTooMany) {
			return false, fmt.Errorf("disabled_filter check: %w", err)
		}
		return len(entries) > 0 || errors.Is(err, errTooMany), nil
	}
	return false, nil
}

func (b *Backend) readEntry(c *conn, dn string, attrs []string) (*ldap.Entry, error) {
	entries, err := b.search(c, dn, ldap.ScopeBaseObject, "(objectClass=*)", attrs, 1)
	if err != nil {
		return nil, err
	}
	if len(entries) != 1 {
		return nil, ldap.NewError(ldap.LDAPResultNoSuchObject, fmt.Errorf("entry %q not readable", dn))
	}
	return entries[0], nil
}

// search runs one search on c with search_timeout both as the client's
// wait and as the server's time limit. More than limit entries gives
// errTooMany with the entries received.
func (b *Backend) search(c *conn, base string, scope int, filter string, attrs []string, limit int) ([]*ldap.Entry, error) {
	c.l.SetTimeout(b.cfg.SearchTimeout)
	secs := int((b.cfg.SearchTimeout + 999_999_999) / 1_000_000_000)
	req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, limit, secs, false, filter, attrs, nil)
	res, err := c.l.Search(req)
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil {
			return res.Entries, errTooMany
		}
		return nil, err
	}
	if len(res.Entries) > limit {
		return res.Entries, errTooMany
	}
	return res.Entries, nil
}
