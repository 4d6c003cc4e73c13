package ldap

import "github.com/portcullis/portcullis/internal/authn"

// Trace describes what one login did, step by step, for `portcullis ldap
// test`. It never holds the password.
type Trace struct {
	// Mode is "search-then-bind" or "direct-bind".
	Mode string
	// Server is the URL of the directory server that answered.
	Server string
	// Filter is the user search filter sent (search-then-bind).
	Filter string
	// DN is the user's entry, empty when none was found.
	DN string
	// Bind is the outcome of the user bind: "ok", "invalid credentials",
	// "not attempted" or the directory's refusal.
	Bind string
	// Disabled reports that the account is locked or disabled.
	Disabled bool
	// Decision and Reason are the chain decision.
	Decision authn.Decision
	Reason   string
	// Account, Labels and Admin are the identity a grant carries.
	Account string
	Labels  map[string][]string
	Admin   bool
}
