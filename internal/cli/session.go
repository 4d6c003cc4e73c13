package cli

import (
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/spf13/cobra"
)

// newSessionCmd builds `portcullis session` (refresh-token sessions).
func newSessionCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "session",
		Short: "Manage sessions (refresh tokens, docker login's identity tokens)",
		Long: `A session is a refresh token issued at login (docker login stores it as
"identitytoken" in ~/.docker/config.json instead of the password). Revoking
it makes the client log in again. Changing a user's password revokes all
their sessions.`,
	}
	cmd.AddCommand(newSessionListCmd(a), newSessionRevokeCmd(a))
	return cmd
}

func newSessionListCmd(a *App) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "list --user NAME",
		Short: "List a user's sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			ss, err := st.ListRefreshTokens(cmd.Context(), user)
			if err != nil {
				return fmt.Errorf("list sessions: %w", err)
			}
			tw := newTable(a.Stdout, "ID", "CLIENT", "CREATED", "LAST USED", "FROM", "EXPIRES")
			for _, s := range ss {
				tw.row(s.ID, dash(s.ClientID), fmtTime(s.CreatedAt, "-"), fmtTime(s.LastUsedAt, "never"), dash(s.LastUsedAddr), fmtTime(s.ExpiresAt, "never"))
			}
			return tw.flush()
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the user (required)")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}

func newSessionRevokeCmd(a *App) *cobra.Command {
	var user string
	var all bool
	cmd := &cobra.Command{
		Use:   "revoke --user NAME (ID | --all)",
		Short: "Revoke one session, or all of a user's sessions",
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case all && len(args) > 0:
				return errors.New("give either a session ID or --all, not both")
			case !all && len(args) != 1:
				return errors.New("give one session ID (see portcullis session list --user NAME) or --all")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			if all {
				n, err := st.DeleteRefreshTokens(cmd.Context(), user)
				if err != nil {
					return fmt.Errorf("revoke sessions: %w", err)
				}
				fmt.Fprintf(a.Stdout, "Revoked %d session(s) of %s\n", n, user)
				return nil
			}
			err = st.DeleteRefreshToken(cmd.Context(), user, args[0])
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("user %s has no session %s (see portcullis session list --user %s)", user, args[0], user)
			}
			if err != nil {
				return fmt.Errorf("revoke session: %w", err)
			}
			fmt.Fprintf(a.Stdout, "Revoked session %s of %s\n", args[0], user)
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the user (required)")
	cmd.Flags().BoolVar(&all, "all", false, "revoke all of the user's sessions")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}
