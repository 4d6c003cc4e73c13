package cli

import "github.com/spf13/cobra"

// newUserCmd builds `portcullis user` (user management (database users)).
func newUserCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "user", Short: "user management (database users)", Hidden: true}
}
