package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis/portcullis/internal/authn/dbuser"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// newUserCmd builds `portcullis user` (database users).
func newUserCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage database users",
		Long: `Manage the users kept in Portcullis' database (authenticator type "db").
Passwords are read from the terminal without echo, or from standard input
with --password-stdin; never from the command line, where other users of
the machine could read them.`,
	}
	cmd.AddCommand(newUserAddCmd(a), newUserListCmd(a), newUserPasswdCmd(a),
		newUserDisableCmd(a, true), newUserDisableCmd(a, false), newUserRemoveCmd(a))
	return cmd
}

func newUserAddCmd(a *App) *cobra.Command {
	var admin, stdin bool
	var labels []string
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a database user",
		Example: `  portcullis user add alice
  echo "$PASSWORD" | portcullis user add ci-bot --password-stdin --label team=infra`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := dbuser.ValidateName(name); err != nil {
				return err
			}
			lm, err := parseLabels(labels)
			if err != nil {
				return err
			}
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := st.GetUser(cmd.Context(), name); err == nil {
				return fmt.Errorf("user %s already exists", name)
			}
			pw, err := newPassword(a, stdin)
			if err != nil {
				return err
			}
			hash, err := dbuser.HashPassword(pw, cfg.Authn.BcryptCost)
			if err != nil {
				return err
			}
			err = st.CreateUser(cmd.Context(), store.User{Name: name, PasswordHash: hash, Admin: admin, Labels: lm})
			if errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("user %s already exists", name)
			}
			if err != nil {
				return fmt.Errorf("create user %s: %w", name, err)
			}
			role := "user"
			if admin {
				role = "administrator"
			}
			fmt.Fprintf(a.Stdout, "Created %s %s\n", role, name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&admin, "admin", false, "make the user an administrator")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "label KEY=VALUE (repeat; a repeated KEY gets several values)")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newUserListCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List database users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			users, err := st.ListUsers(cmd.Context())
			if err != nil {
				return fmt.Errorf("list users: %w", err)
			}
			tw := newTable(a.Stdout, "NAME", "ADMIN", "DISABLED", "CREATED", "LABELS")
			for _, u := range users {
				tw.row(u.Name, yesNo(u.Admin), yesNo(u.Disabled), fmtTime(u.CreatedAt, "-"), formatLabels(u.Labels))
			}
			return tw.flush()
		},
	}
}

func newUserPasswdCmd(a *App) *cobra.Command {
	var stdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a database user's password (this also ends the user's sessions)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := st.GetUser(cmd.Context(), name); err != nil {
				return userErr(name, err)
			}
			pw, err := newPassword(a, stdin)
			if err != nil {
				return err
			}
			hash, err := dbuser.HashPassword(pw, cfg.Authn.BcryptCost)
			if err != nil {
				return err
			}
			if _, err := st.UpdateUser(cmd.Context(), name, store.UserUpdate{PasswordHash: hash}); err != nil {
				return userErr(name, err)
			}
			fmt.Fprintf(a.Stdout, "Password of %s changed; the user's sessions (docker login identity tokens) were revoked\n", name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

// newUserDisableCmd builds `user disable` (disable true) or `user enable`.
func newUserDisableCmd(a *App, disable bool) *cobra.Command {
	use, short, done := "enable NAME", "Enable a disabled database user", "Enabled"
	if disable {
		use, short, done = "disable NAME", "Disable a database user: their password, app tokens and sessions stop working at once", "Disabled"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := st.UpdateUser(cmd.Context(), name, store.UserUpdate{Disabled: &disable}); err != nil {
				return userErr(name, err)
			}
			fmt.Fprintf(a.Stdout, "%s %s\n", done, name)
			return nil
		},
	}
}

func newUserRemoveCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a database user with their app tokens and sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.DeleteUser(cmd.Context(), name); err != nil {
				return userErr(name, err)
			}
			fmt.Fprintf(a.Stdout, "Removed %s with their app tokens and sessions\n", name)
			return nil
		},
	}
}

// userErr turns a store "not found" into a sentence naming the user.
func userErr(name string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no database user %s (see portcullis user list)", name)
	case errors.Is(err, store.ErrLastAdmin):
		return fmt.Errorf("%s: %w", name, store.ErrLastAdmin)
	}
	return err
}

// newPassword reads a new password: with stdin, the first line of standard
// input; otherwise twice from the terminal without echo. Without a
// terminal and without --password-stdin it refuses, so that piped input is
// never taken for a password by accident.
func newPassword(a *App, stdin bool) (string, error) {
	if stdin {
		if f, ok := a.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return "", errors.New("--password-stdin: standard input is a terminal; pipe the password in, or leave out the flag to be prompted")
		}
		return readPassword(a, "")
	}
	f, ok := a.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no terminal to ask for the password on; pipe it in with --password-stdin")
	}
	pw, err := readPassword(a, "New password: ")
	if err != nil {
		return "", err
	}
	again, err := readPassword(a, "Repeat the password: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the passwords differ")
	}
	return pw, nil
}

// parseLabels reads KEY=VALUE flags; a repeated key collects values.
func parseLabels(flags []string) (map[string][]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	m := map[string][]string{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: want KEY=VALUE", f)
		}
		if !slices.Contains(m[k], v) {
			m[k] = append(m[k], v)
		}
	}
	if err := dbuser.ValidateLabels(m); err != nil {
		return nil, err
	}
	return m, nil
}

func formatLabels(m map[string][]string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range m[k] {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// fmtTime prints t in UTC to the second, or zero when t is the zero time.
func fmtTime(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format(time.RFC3339)
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row writes one line. Cells may hold what clients sent (a refresh
// token's client id): any with control or other unprintable characters is
// written escaped, Go-style, so nothing reaches the terminal raw and a
// cell never breaks the table's lines or columns.
func (t *table) row(cols ...string) {
	cells := make([]string, len(cols))
	for i, c := range cols {
		cells[i] = printableCell(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func printableCell(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

func (t *table) flush() error { return t.tw.Flush() }
