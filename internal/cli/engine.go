package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/engine"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/spf13/cobra"
)

// newEngineCmd builds `portcullis engine` (Docker Engine API gateway).
func newEngineCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "engine",
		Short: "Docker Engine API gateway: set-up and tokens",
		Long: `The Docker Engine API gateway puts named, revocable tokens with policies in
front of the Docker daemon instead of client certificates. Start with
'portcullis engine init'.`,
	}
	tok := &cobra.Command{Use: "token", Short: "Engine gateway tokens: create, list, revoke, rotate"}
	tok.AddCommand(newEngineTokenCreateCmd(a), newEngineTokenListCmd(a), newEngineTokenRevokeCmd(a), newEngineTokenRotateCmd(a))
	cmd.AddCommand(newEngineInitCmd(a), tok, newEngineConnectCmd(a))
	return cmd
}

// parseExpiry reads --expires: a Go duration (720h) or whole days (30d);
// "" or "0" means never.
func parseExpiry(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("--expires %q: want a duration like 12h or a number of days like 30d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("--expires %q: want a duration like 12h or a number of days like 30d", s)
		}
	}
	if d <= 0 || d > 100*365*24*time.Hour {
		return 0, fmt.Errorf("--expires %q: must be positive and under 100 years", s)
	}
	return d, nil
}

// createEngineToken makes, stores (hashed) and returns a new token.
func createEngineToken(ctx context.Context, a *App, name, policy string, expires time.Duration) (string, store.EngineToken, error) {
	cfg, err := a.Config()
	if err != nil {
		return "", store.EngineToken{}, err
	}
	if err := checkTokenName(name); err != nil {
		return "", store.EngineToken{}, err
	}
	if !cfg.Engine.HasEnginePolicy(policy) {
		return "", store.EngineToken{}, a.unknownPolicy(cfg, policy)
	}
	st, err := a.Store(ctx)
	if err != nil {
		return "", store.EngineToken{}, err
	}
	secret, err := engine.NewToken()
	if err != nil {
		return "", store.EngineToken{}, fmt.Errorf("generate token: %w", err)
	}
	now := time.Now().UTC()
	t := store.EngineToken{Name: name, Hash: engine.HashToken(secret), Policy: policy, CreatedAt: now}
	if expires > 0 {
		t.ExpiresAt = now.Add(expires)
	}
	if err := st.CreateEngineToken(ctx, t); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return "", t, fmt.Errorf("an engine token named %q exists; rotate it with `portcullis engine token rotate %s` or pick another name", name, name)
		}
		return "", t, fmt.Errorf("store engine token: %w", err)
	}
	return secret, t, nil
}

// unknownPolicy refuses a policy name the configuration does not define;
// without a config file it says where named policies come from.
func (a *App) unknownPolicy(cfg *config.Config, policy string) error {
	names := strings.Join(cfg.Engine.EnginePolicyNames(), ", ")
	if a.cfgFile == "" {
		return fmt.Errorf("unknown policy %q: no config file was given, so only the built-in policies exist (%s); named policies come from engine.policies of your config file: pass --config FILE or set PORTCULLIS_CONFIG", policy, names)
	}
	return fmt.Errorf("unknown policy %q (configured in %s: %s)", policy, a.cfgFile, names)
}

func checkTokenName(name string) error {
	if name == "" || len(name) > 64 {
		return errors.New("--name must be 1 to 64 characters")
	}
	for _, c := range name {
		ok := c == '-' || c == '_' || c == '.' || c == '@' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			return fmt.Errorf("token name %q: use letters, digits and - _ . @", name)
		}
	}
	return nil
}

func newEngineTokenCreateCmd(a *App) *cobra.Command {
	var name, policy, expires string
	cmd := &cobra.Command{
		Use:   "create --name NAME [--policy POLICY] [--expires D]",
		Short: "Create a token; it is printed once and only its hash is kept",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := parseExpiry(expires)
			if err != nil {
				return err
			}
			secret, t, err := createEngineToken(cmd.Context(), a, name, policy, d)
			if err != nil {
				return err
			}
			printToken(a, "Created", t, secret)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "token name (shown in audit logs and metrics)")
	cmd.Flags().StringVar(&policy, "policy", config.EnginePolicyFull, "policy: full, read-only or one configured under engine.policies")
	cmd.Flags().StringVar(&expires, "expires", "", "lifetime, e.g. 12h or 90d (default: never)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

// printToken shows a secret once with what to do with it.
func printToken(a *App, verb string, t store.EngineToken, secret string) {
	w := a.Stdout
	fmt.Fprintf(w, "%s engine token %q (policy %s, expires %s).\n", verb, t.Name, t.Policy, formatExpiry(t.ExpiresAt))
	fmt.Fprintf(w, "\n  %s\n\n", secret)
	fmt.Fprintln(w, "It is shown only this once: Portcullis keeps only its hash. A lost token is rotated, not recovered.")
	fmt.Fprintln(w, `Send it as "Authorization: Bearer <token>" (or in the SOAJS "token" header);`)
	fmt.Fprintln(w, `for the docker CLI put it in ~/.docker/config.json: {"HttpHeaders": {"Authorization": "Bearer <token>"}}`)
}

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func newEngineTokenListCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List tokens (names, policies, expiry, last use; never secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			ts, err := st.ListEngineTokens(cmd.Context())
			if err != nil {
				return fmt.Errorf("list engine tokens: %w", err)
			}
			now := time.Now()
			tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPOLICY\tCREATED\tEXPIRES\tLAST USED")
			for _, t := range ts {
				exp := formatExpiry(t.ExpiresAt)
				if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
					exp += " (expired)"
				}
				last := "never"
				if !t.LastUsedAt.IsZero() {
					last = t.LastUsedAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Policy, t.CreatedAt.UTC().Format(time.RFC3339), exp, last)
			}
			return tw.Flush()
		},
	}
}

func newEngineTokenRevokeCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a token; the gateway refuses it within engine.token_cache_ttl (1s by default)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.DeleteEngineToken(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no engine token named %q", args[0])
				}
				return fmt.Errorf("revoke engine token: %w", err)
			}
			fmt.Fprintf(a.Stdout, "Revoked engine token %q; a running gateway refuses it %s.\n", args[0], takesEffect(a))
			return nil
		},
	}
}

func newEngineTokenRotateCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate NAME",
		Short: "Replace a token's secret (name, policy and expiry stay); the old secret stops working within engine.token_cache_ttl",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := a.Store(ctx)
			if err != nil {
				return err
			}
			secret, err := engine.NewToken()
			if err != nil {
				return fmt.Errorf("generate token: %w", err)
			}
			if err := st.ReplaceEngineTokenHash(ctx, args[0], engine.HashToken(secret)); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no engine token named %q", args[0])
				}
				return fmt.Errorf("rotate engine token: %w", err)
			}
			t, err := st.GetEngineTokenByHash(ctx, engine.HashToken(secret))
			if err != nil {
				return fmt.Errorf("read back rotated token: %w", err)
			}
			printToken(a, "Rotated", t, secret)
			fmt.Fprintf(a.Stdout, "A running gateway refuses the old secret %s.\n", takesEffect(a))
			return nil
		},
	}
}

// takesEffect says when a running gateway stops accepting a revoked or
// rotated-out token: it trusts a token found in the store for
// engine.token_cache_ttl.
func takesEffect(a *App) string {
	cfg, err := a.Config()
	if err != nil || cfg.Engine.TokenCacheTTL < 0 {
		return "from its next request"
	}
	return "within " + cfg.Engine.TokenCacheTTL.String() + " (engine.token_cache_ttl)"
}
