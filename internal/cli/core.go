package cli

import "github.com/spf13/cobra"

func coreCommands(a *App) []*cobra.Command { return nil }
