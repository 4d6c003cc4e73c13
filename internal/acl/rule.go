package acl

import "net/netip"

// Rule is one entry of the ACL. A rule matches when every field set in
// Match fits; the first matching rule decides.
type Rule struct {
	Match Match `yaml:"match,omitempty"`
	// Actions the rule grants, intersected with the requested ones:
	// pull, push, delete, or "*" for every requested action.
	Actions []string `yaml:"actions,omitempty"`
	// Deny makes a matching rule grant nothing and end evaluation.
	Deny    bool   `yaml:"deny,omitempty"`
	Comment string `yaml:"comment,omitempty"`
}

// Match selects the subjects and scopes a rule applies to. Empty fields
// match anything.
type Match struct {
	// Account is an exact name, a glob ("ci-*") or a /regex/. A non-empty
	// Account never matches the anonymous subject.
	Account string `yaml:"account,omitempty"`
	// Anonymous true matches only the anonymous subject, false only
	// authenticated ones.
	Anonymous *bool `yaml:"anonymous,omitempty"`
	// Admin true matches only administrators, false only the others.
	Admin *bool `yaml:"admin,omitempty"`
	// Type is the scope's resource type (repository, registry); glob
	// allowed. The deprecated class (repository(plugin)) is ignored.
	Type string `yaml:"type,omitempty"`
	// Name is a glob or /regex/ over the resource name, with ${account}
	// and ${labels:KEY} placeholders.
	Name string `yaml:"name,omitempty"`
	// Service is the registry service the token is for; exact or glob.
	Service string `yaml:"service,omitempty"`
	// IP lists CIDRs or single addresses (IPv4 or IPv6) of the client.
	IP []string `yaml:"ip,omitempty"`
	// Labels: every key must be present on the subject with at least one
	// value matching one of the listed patterns (exact, glob or /regex/);
	// an empty list only requires the key to be present.
	Labels map[string][]string `yaml:"labels,omitempty"`
}

// Subject is who asks: an authenticated account or the anonymous user.
type Subject struct {
	Account   string
	Anonymous bool
	Admin     bool
	Labels    map[string][]string
	IP        netip.Addr
	Service   string
}

// Request is one parsed scope, for example repository:alice/app:pull,push
// is {Type: "repository", Name: "alice/app", Actions: [pull push]}.
type Request struct {
	Type    string
	Class   string
	Name    string
	Actions []string
}

// Decision is the outcome of Authorize for one Request.
type Decision struct {
	// Allowed are the granted actions, in the requested order, without
	// duplicates; empty when nothing is granted.
	Allowed []string
	// Rule is the index of the deciding rule, -1 when none matched.
	Rule int
	// Comment is the deciding rule's comment.
	Comment string
	// Denied is true when a deny rule decided (or a rule could not be
	// evaluated and the engine failed closed).
	Denied bool
}
