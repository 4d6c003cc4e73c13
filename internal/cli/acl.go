package cli

import "github.com/spf13/cobra"

// newACLCmd builds `portcullis acl` (access-control rules).
func newACLCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "acl", Short: "access-control rules", Hidden: true}
}
