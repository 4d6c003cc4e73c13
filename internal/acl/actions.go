package acl

// Actions of the registry token protocol.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
	// ActionAll in a rule grants every requested action; in a request
	// (registry:catalog:*) it is an action of its own.
	ActionAll = "*"
)

// TypeRegistry is the resource type of registry-wide scopes such as
// registry:catalog:*, whose only action is "*".
const TypeRegistry = "registry"

func knownAction(ruleType, a string) bool {
	if ruleType == TypeRegistry {
		return a == ActionAll
	}
	switch a {
	case ActionPull, ActionPush, ActionDelete, ActionAll:
		return true
	}
	return false
}

// grant intersects the requested actions with the rule's, keeping the
// requested order and dropping duplicates. It allocates only when
// something is granted.
func grant(c *compiledRule, requested []string) []string {
	var out []string
	for _, a := range requested {
		if !c.all && !contains(c.actions, a) {
			continue
		}
		if contains(out, a) {
			continue
		}
		if out == nil {
			out = make([]string, 0, len(requested))
		}
		out = append(out, a)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
