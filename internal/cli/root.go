package cli

import (
	"context"
	"os"

	"github.com/spf13/cobra"
)

// NewRoot builds the portcullis command tree.
func NewRoot(a *App) *cobra.Command {
	root := &cobra.Command{
		Use:           "portcullis",
		Short:         "Authentication and authorization in front of Docker infrastructure",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&a.ConfigPath, "config", "c", "", "config file (default: embedded default; env PORTCULLIS_CONFIG)")
	root.PersistentFlags().StringVar(&a.DataDir, "data-dir", "", "data directory, overriding data_dir (default: env PORTCULLIS_DATA_DIR, else the config's data_dir, else ./portcullis-data)")
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	root.AddCommand(
		newUserCmd(a),
		newAppTokenCmd(a),
		newSessionCmd(a),
		newLDAPCmd(a),
		newEngineCmd(a),
		newAPIKeyCmd(a),
		newKeysCmd(a),
		newACLCmd(a),
	)
	for _, c := range coreCommands(a) {
		root.AddCommand(c)
	}
	return root
}

// Execute runs the CLI with the process's arguments and streams.
func Execute(ctx context.Context) int {
	a := &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	defer a.Close()
	root := NewRoot(a)
	if err := root.ExecuteContext(ctx); err != nil {
		root.PrintErrln("error:", err)
		return 1
	}
	return 0
}
