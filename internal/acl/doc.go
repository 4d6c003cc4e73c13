// Package acl is the access-control engine of the registry token service.
//
// An ACL is an ordered list of rules loaded from the configuration. For
// every scope a client asks for (repository:alice/app:pull,push), the first
// rule whose match fits the subject and the scope decides: an allow rule
// grants the intersection of its actions with the requested ones, a deny
// rule grants nothing. When no rule matches nothing is granted.
//
// Patterns (exact strings, globs and /regex/) are compiled once by New;
// name patterns may hold ${account} and ${labels:KEY} placeholders whose
// values are quoted before they are put into the pattern, so an account
// name can never widen a rule. docs/acl.md describes the rule language.
package acl
