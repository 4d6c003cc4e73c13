package acl

// Default returns the rules used when the configuration has no acl
// section: administrators may do anything (including the catalog), and
// every authenticated user may pull, push and delete the repositories
// below their own account name. The anonymous user gets nothing.
func Default() []Rule {
	yes, no := true, false
	return []Rule{
		{
			Match:   Match{Admin: &yes},
			Actions: []string{ActionAll},
			Comment: "administrators may do anything",
		},
		{
			Match:   Match{Anonymous: &no, Type: "repository", Name: "${account}/**"},
			Actions: []string{ActionPull, ActionPush, ActionDelete},
			Comment: "users own the repositories below their account name",
		},
	}
}
