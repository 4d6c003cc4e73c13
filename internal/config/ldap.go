package config

// LDAPConfig configures one LDAP authenticator in the chain. This file is
// owned by the LDAP backend; the root Config only refers to it.
type LDAPConfig struct {
}

func (c *LDAPConfig) setDefaults() {}

func (c *LDAPConfig) validate(v *Validator, path string) {}
