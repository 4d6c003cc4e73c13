package cli

import "github.com/spf13/cobra"

// newKeysCmd builds `portcullis keys` (signing keys).
func newKeysCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "keys", Short: "signing keys", Hidden: true}
}
