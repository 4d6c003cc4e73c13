package cli

import "github.com/spf13/cobra"

// newSessionCmd builds `portcullis session` (refresh-token sessions).
func newSessionCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "session", Short: "refresh-token sessions", Hidden: true}
}
