package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/ldap"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// ldapTestTimeout bounds one `ldap test` run (failover over every server
// with its dial, bind and search timeouts fits well within it).
const ldapTestTimeout = 2 * time.Minute

// newLDAPCmd builds `portcullis ldap` (LDAP diagnostics).
func newLDAPCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ldap",
		Short: "Check LDAP authenticators against the directory",
	}
	cmd.AddCommand(newLDAPTestCmd(a))
	return cmd
}

func newLDAPTestCmd(a *App) *cobra.Command {
	var user, name string
	var stdin bool
	cmd := &cobra.Command{
		Use:   "test --user NAME",
		Short: "Log a user in against the configured directory and show each step",
		Long: `Log a user in exactly as the server would, with the configured LDAP
authenticator, and print the server that answered, the search filter, the
DN found, the result of the bind, and the account, admin flag and labels a
grant carries. Nothing is cached and no token is issued.

The password is asked for on the terminal without echo, or read from the
first line of standard input with --password-stdin.

Exit status 0 means the login would be granted; any other answer (wrong
password, unknown or disabled user, directory unreachable) exits non-zero
with the reason.`,
		Example: `  portcullis ldap test --user alice
  printf '%s\n' "$PW" | portcullis ldap test --user ci-bot --password-stdin --authenticator corp`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			ac, err := pickLDAP(cfg, name)
			if err != nil {
				return err
			}
			pw, err := loginPassword(a, user, stdin)
			if err != nil {
				return err
			}
			b, err := ldap.New(ac.Name, *ac.LDAP, a.Logger())
			if err != nil {
				return err
			}
			defer b.Close()
			b.SetAdminAccounts(ac.Admins)
			ctx, cancel := context.WithTimeout(cmd.Context(), ldapTestTimeout)
			defer cancel()
			tr, err := b.Lookup(ctx, user, pw)
			printTrace(a.Stdout, ac.Name, tr, err)
			switch {
			case err != nil:
				return fmt.Errorf("directory unavailable (the server would answer 503): %w", err)
			case tr.Decision != authn.Grant:
				return fmt.Errorf("login of %s refused: %s (%s)", user, tr.Reason, tr.Decision)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "user", "u", "", "user name to log in (required)")
	cmd.Flags().StringVar(&name, "authenticator", "", "name of the ldap authenticator in authn.chain (default: the only one)")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from the first line of standard input")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}

// pickLDAP finds the ldap authenticator named name, or the only one.
func pickLDAP(cfg *config.Config, name string) (config.AuthenticatorConfig, error) {
	var found []config.AuthenticatorConfig
	var names []string
	for _, ac := range cfg.Authn.Chain {
		if ac.Type != "ldap" || ac.LDAP == nil {
			continue
		}
		if ac.Name == name {
			return ac, nil
		}
		found, names = append(found, ac), append(names, ac.Name)
	}
	switch {
	case len(found) == 0:
		return config.AuthenticatorConfig{}, errors.New("no authenticator of type ldap in authn.chain")
	case name != "":
		return config.AuthenticatorConfig{}, fmt.Errorf("no ldap authenticator named %q (have: %s)", name, strings.Join(names, ", "))
	case len(found) > 1:
		return config.AuthenticatorConfig{}, fmt.Errorf("several ldap authenticators (%s): choose one with --authenticator", strings.Join(names, ", "))
	}
	return found[0], nil
}

// loginPassword reads the password to test: from stdin with
// --password-stdin, else from the terminal without echo.
func loginPassword(a *App, user string, stdin bool) (string, error) {
	f, isFile := a.Stdin.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	switch {
	case stdin && tty:
		return "", errors.New("--password-stdin: standard input is a terminal; pipe the password in, or leave out the flag to be prompted")
	case !stdin && !tty:
		return "", errors.New("no terminal to ask for the password on; pipe it in with --password-stdin")
	}
	return readPassword(a, "Password for "+user+": ")
}

// printTrace writes what the login did, as far as it got.
func printTrace(w io.Writer, name string, tr ldap.Trace, err error) {
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-14s %s\n", k+":", v)
		}
	}
	row("authenticator", name+" ("+tr.Mode+")")
	row("server", tr.Server)
	row("filter", tr.Filter)
	dn := tr.DN
	switch {
	case dn == "" && tr.Server == "":
		dn = "(not looked up: no server reachable)"
	case dn == "":
		dn = "(none found)"
	}
	row("dn", dn)
	row("bind", tr.Bind)
	if err != nil {
		row("error", err.Error())
		return
	}
	if tr.Bind == "ok" {
		// The disabled checks run only after a successful bind.
		row("disabled", yesNo(tr.Disabled))
	}
	decision := tr.Decision.String()
	if tr.Reason != "" {
		decision += " (" + tr.Reason + ")"
	}
	row("decision", decision)
	if tr.Decision != authn.Grant {
		return
	}
	row("account", tr.Account)
	row("admin", yesNo(tr.Admin))
	if len(tr.Labels) == 0 {
		row("labels", "-")
		return
	}
	fmt.Fprintln(w, "labels:")
	for _, k := range slices.Sorted(maps.Keys(tr.Labels)) {
		fmt.Fprintf(w, "  %s: %s\n", k, strings.Join(tr.Labels[k], ", "))
	}
}
