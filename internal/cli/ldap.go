package cli

import "github.com/spf13/cobra"

// newLDAPCmd builds `portcullis ldap` (LDAP diagnostics).
func newLDAPCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "ldap", Short: "LDAP diagnostics", Hidden: true}
}
