package cli

import "github.com/spf13/cobra"

// newAPIKeyCmd builds `portcullis apikey` (API-key gateway keys).
func newAPIKeyCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "apikey", Short: "API-key gateway keys", Hidden: true}
}
