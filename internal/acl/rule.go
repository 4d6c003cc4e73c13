package acl

// Rule is placeholder until the ACL engine lands.
type Rule struct {
	Comment string `yaml:"comment"`
}
