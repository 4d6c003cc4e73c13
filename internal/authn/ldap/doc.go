// Package ldap is the LDAP and Active Directory authenticator of the chain.
//
// A login finds the user's entry, either by a search as a service account
// (search-then-bind) or by building the DN from a template (direct bind),
// then binds as that DN with the presented password. The directory's
// answer becomes a chain decision:
//
//   - bind succeeds and the account is not disabled: Grant, with labels
//     taken from entry attributes and group searches;
//   - bind fails with invalidCredentials (49): Deny "wrong password";
//   - no entry: Abstain (or Deny when unknown_user: deny);
//   - several entries, a disabled or locked account: Deny;
//   - the directory unreachable, slow or refusing the service account: an
//     error wrapping authn.ErrBackend, which the chain answers with 503 and
//     never with a grant.
//
// Empty passwords are refused before any bind: many directories treat a
// simple bind with a DN and no password as an anonymous bind that
// "succeeds".
package ldap
