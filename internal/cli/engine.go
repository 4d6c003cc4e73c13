package cli

import "github.com/spf13/cobra"

// newEngineCmd builds `portcullis engine` (Docker Engine API gateway).
func newEngineCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "engine", Short: "Docker Engine API gateway", Hidden: true}
}
