package cli

import "github.com/spf13/cobra"

// newAppTokenCmd builds `portcullis apptoken` (application tokens).
func newAppTokenCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "apptoken", Short: "application tokens", Hidden: true}
}
