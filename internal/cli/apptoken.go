package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/authn/apptoken"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/spf13/cobra"
)

// newAppTokenCmd builds `portcullis apptoken` (application tokens).
func newAppTokenCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apptoken",
		Short: "Manage application tokens (passwords for docker login that can be revoked)",
		Long: `Application tokens are random secrets a user gives docker login (or any
registry client) instead of their real password. Each has a name, may
expire and may be limited to some repositories and actions. Users can also
manage their own over the JSON API (see docs/apptokens.md).`,
	}
	cmd.AddCommand(newAppTokenCreateCmd(a), newAppTokenListCmd(a), newAppTokenRevokeCmd(a))
	return cmd
}

func newAppTokenCreateCmd(a *App) *cobra.Command {
	var user, name, expires string
	var scopes []string
	cmd := &cobra.Command{
		Use:   "create --user NAME --name LABEL",
		Short: "Create an app token and print it (the only time it is shown)",
		Example: `  portcullis apptoken create --user alice --name laptop --expires 90d
  portcullis apptoken create --user ci --name pull-only --scope 'repository:team/**:pull'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := apptoken.ValidateOwner(user); err != nil {
				return fmt.Errorf("--user: %w", err)
			}
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			var exp time.Time
			lifetime := cfg.AppTokens.DefaultExpiry
			if cmd.Flags().Changed("expires") {
				if lifetime, err = apptoken.ParseExpiry(expires); err != nil {
					return fmt.Errorf("--expires: %w", err)
				}
			}
			if lifetime > 0 {
				exp = time.Now().Add(lifetime)
			}
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			u, err := st.GetUser(cmd.Context(), user)
			switch {
			case errors.Is(err, store.ErrNotFound):
				// Users of other backends (htpasswd, static, LDAP) have
				// tokens too; the token works only while one knows them.
				fmt.Fprintf(a.Stderr, "note: %s is not a database user; the token works only while another authenticator (htpasswd, static, LDAP) knows %s\n", user, user)
			case err != nil:
				return fmt.Errorf("look up user %s: %w", user, err)
			case u.Disabled:
				return fmt.Errorf("user %s is disabled; enable it first (portcullis user enable %s)", user, user)
			}
			tok, err := apptoken.Create(cmd.Context(), st, user, name, scopes, exp, cfg.AppTokens.MaxPerUser)
			if errors.Is(err, store.ErrLimitReached) {
				return fmt.Errorf("user %s already has %d app tokens, the maximum (app_tokens.max_per_user); revoke one first with: portcullis apptoken revoke --user %s NAME (see portcullis apptoken list --user %s)",
					user, cfg.AppTokens.MaxPerUser, user, user)
			}
			if errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("user %s already has an app token named %s; pick another name or revoke that one", user, name)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(a.Stdout, tok)
			when := "never expires"
			if !exp.IsZero() {
				when = "expires " + fmtTime(exp, "")
			}
			fmt.Fprintf(a.Stderr, "Created app token %s for %s (%s). It is shown only this once: store it now.\nUse it as the password: docker login -u %s REGISTRY\n", name, user, when, user)
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "owner of the token (required)")
	cmd.Flags().StringVar(&name, "name", "", "label of the token, unique per user (required)")
	cmd.Flags().StringVar(&expires, "expires", "", `lifetime: 90d, 2w, 12h, or "never" (default: app_tokens.default_expiry)`)
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "limit to repository:NAME-GLOB:ACTIONS, e.g. repository:team/*:pull (repeat)")
	_ = cmd.MarkFlagRequired("user")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newAppTokenListCmd(a *App) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "list [--user NAME]",
		Short: "List app tokens (all users' unless --user)",
		Long: `List app tokens. LAST USED and FROM are updated in batches, about every
10 seconds, so a use may take that long to show.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			toks, err := st.ListAppTokens(cmd.Context(), user)
			if err != nil {
				return fmt.Errorf("list app tokens: %w", err)
			}
			now := time.Now()
			tw := newTable(a.Stdout, "USER", "NAME", "CREATED", "EXPIRES", "LAST USED", "FROM", "SCOPES")
			for _, t := range toks {
				exp := fmtTime(t.ExpiresAt, "never")
				if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
					exp += " (expired)"
				}
				sc := "all (as the user)"
				if len(t.Scopes) > 0 {
					sc = strings.Join(t.Scopes, " ")
				}
				tw.row(t.User, t.Name, fmtTime(t.CreatedAt, "-"), exp, fmtTime(t.LastUsedAt, "never"), dash(t.LastUsedAddr), sc)
			}
			return tw.flush()
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "only this user's tokens")
	return cmd
}

func newAppTokenRevokeCmd(a *App) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "revoke --user NAME LABEL",
		Short: "Revoke (delete) an app token; it stops working at once on every instance",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			err = st.DeleteAppToken(cmd.Context(), user, args[0])
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("user %s has no app token named %s (see portcullis apptoken list --user %s)", user, args[0], user)
			}
			if err != nil {
				return fmt.Errorf("revoke app token: %w", err)
			}
			fmt.Fprintf(a.Stdout, "Revoked app token %s of %s\n", args[0], user)
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "owner of the token (required)")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
