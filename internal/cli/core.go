package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/keys"
	"github.com/portcullis/portcullis/internal/server"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

func coreCommands(a *App) []*cobra.Command {
	return []*cobra.Command{newServeCmd(a), newInitCmd(a), newHashCmd(a)}
}

func newServeCmd(a *App) *cobra.Command {
	var addr string
	var check bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the token service (and the gateways the config enables)",
		Long: `Run Portcullis. With no --config it runs the embedded default: HTTPS on
127.0.0.1:5001 with a self-signed certificate, an ES256 signing key, users from
DATA_DIR/htpasswd and the database, and the default ACL (admins everything,
users their own namespace ${account}/**, anonymous nothing).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr != "" {
				os.Setenv("PORTCULLIS_SERVER_ADDR", addr)
			}
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			if check {
				fmt.Fprintln(a.Stdout, "configuration OK")
				return nil
			}
			logger := a.Logger()
			ctx := cmd.Context()
			srv, err := server.New(ctx, cfg, logger, a.Stdout)
			if err != nil {
				return err
			}
			defer srv.Close()
			if err := srv.Listen(); err != nil {
				return err
			}
			srv.PrintBanner(a.Stdout)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for range hup {
					logger.Info("SIGHUP: reloading htpasswd, signing-key and API-key files (the config file is read only at start)")
					srv.Reload()
				}
			}()
			return srv.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address HOST:PORT (overrides server.addr)")
	cmd.Flags().BoolVar(&check, "check-config", false, "validate the configuration and exit")
	return cmd
}

func newInitCmd(a *App) *cobra.Command {
	var dir string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter config, a signing key and its certificate",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				dir = "."
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(abs, "data"), 0o700); err != nil {
				return err
			}
			cfgPath := filepath.Join(abs, "portcullis.yaml")
			if _, err := os.Stat(cfgPath); err == nil && !force {
				return fmt.Errorf("%s exists; use --force to overwrite", cfgPath)
			}
			dataDir := filepath.Join(abs, "data")
			keyPath, certPath := filepath.Join(dataDir, "signing.key"), filepath.Join(dataDir, "signing.crt")
			k, created, err := keys.Ensure(keyPath, certPath, "ES256", keys.GenerateOptions{CommonName: "portcullis token signing", Validity: 10 * 365 * 24 * time.Hour})
			if err != nil {
				return err
			}
			body := strings.NewReplacer("@DATA@", dataDir, "@KEY@", keyPath, "@CERT@", certPath).Replace(starterConfig)
			if _, err := config.Parse([]byte(body), "", func(string) (string, bool) { return "", false }); err != nil {
				return fmt.Errorf("internal error: starter config does not validate: %w", err)
			}
			if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "Wrote %s\n", cfgPath)
			if created {
				fmt.Fprintf(a.Stdout, "Created ES256 signing key %s and certificate %s (kid %s)\n", keyPath, certPath, k.KID)
			} else {
				fmt.Fprintf(a.Stdout, "Kept existing signing key %s (kid %s)\n", keyPath, k.KID)
			}
			fmt.Fprintf(a.Stdout, "Start with: portcullis serve --config %s\n", cfgPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "directory to write portcullis.yaml and data/ into")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing portcullis.yaml")
	return cmd
}

func newHashCmd(a *App) *cobra.Command {
	var cost int
	cmd := &cobra.Command{
		Use:   "hash",
		Short: "Print a bcrypt hash of a password read from the terminal or stdin (for static users)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readPassword(a, "Password: ")
			if err != nil {
				return err
			}
			h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.Stdout, string(h))
			return nil
		},
	}
	cmd.Flags().IntVar(&cost, "cost", 10, "bcrypt cost")
	return cmd
}

// maxPasswordLine bounds the line read as a password. bcrypt uses 72
// bytes at most, and LDAP and app-token passwords are far shorter: a
// longer first line is a file piped in by mistake, not a password, and
// reading it whole would take as much memory as the file.
const maxPasswordLine = 1024

// readPassword reads a password without echo from a terminal, or one line
// from stdin otherwise. An empty password is refused either way.
func readPassword(a *App, prompt string) (string, error) {
	var pw string
	if f, ok := a.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.Stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.Stderr)
		if err != nil {
			return "", err
		}
		pw = string(b)
	} else {
		// Two more bytes than the bound for the line end ("\r\n").
		line, err := bufio.NewReader(io.LimitReader(a.Stdin, maxPasswordLine+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		pw = strings.TrimRight(line, "\r\n")
		if len(pw) > maxPasswordLine {
			return "", fmt.Errorf("the first line of standard input is longer than %d bytes: not a password", maxPasswordLine)
		}
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}
