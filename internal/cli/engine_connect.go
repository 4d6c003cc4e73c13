package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/engine"
	"github.com/spf13/cobra"
)

// newEngineConnectCmd builds `portcullis engine connect`: the client-side
// forwarder for docker clients that send no HttpHeaders (buildx).
func newEngineConnectCmd(a *App) *cobra.Command {
	var host, caFile, tokenFile, socket string
	cmd := &cobra.Command{
		Use:   "connect --host tcp://HOST:PORT [--tlscacert ca.pem] [--token-file FILE] [--socket PATH]",
		Short: "Forward a local docker socket to the gateway, adding the token (for buildx)",
		Long: `Listen on a unix socket that only you can open and forward every Docker
API request on it to the engine gateway over TLS, with your token added.
Point DOCKER_HOST at the socket. Use it for clients that do not send the
HttpHeaders of ~/.docker/config.json: buildx, and so 'docker build' wherever
buildx is installed (BuildKit), and programs using the Docker SDK.

The token comes from --token-file or PORTCULLIS_ENGINE_TOKEN, never from
a flag (flags show in the process list). Whoever can open the socket acts
with the token: it is made mode 0600 in a directory of mode 0700.

  portcullis engine connect --host tcp://gateway.example:2376 \
      --tlscacert ~/.docker/portcullis/ca.pem --token-file ~/.docker/portcullis/token
  export DOCKER_HOST=unix://$HOME/.portcullis/engine.sock
  docker build -t app .`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := connectToken(tokenFile)
			if err != nil {
				return err
			}
			var roots *x509.CertPool
			if caFile == "" && os.Getenv("DOCKER_CERT_PATH") != "" {
				caFile = filepath.Join(os.Getenv("DOCKER_CERT_PATH"), "ca.pem")
			}
			if caFile != "" {
				if roots, err = engine.LoadCAPool(caFile); err != nil {
					return fmt.Errorf("--tlscacert: %w", err)
				}
			}
			if socket == "" {
				if socket, err = defaultConnectSocket(); err != nil {
					return err
				}
			}
			c, err := engine.NewConnector(engine.ConnectOptions{Gateway: host, RootCAs: roots, Token: tok, Logger: a.Logger()})
			if err != nil {
				return fmt.Errorf("--host: %w", err)
			}
			ctx := cmd.Context()
			if err := c.Ping(ctx); err != nil {
				return err
			}
			ln, err := engine.ListenUnix(socket)
			if err != nil {
				return fmt.Errorf("--socket: %w", err)
			}
			defer os.Remove(socket)
			fmt.Fprintf(a.Stdout, "Forwarding unix://%s to %s with your token. In another shell:\n\n  export DOCKER_HOST=unix://%s\n\nStop with Ctrl-C.\n", socket, host, socket)
			return c.Serve(ctx, ln, 10*time.Second)
		},
	}
	cmd.Flags().StringVarP(&host, "host", "H", os.Getenv("PORTCULLIS_ENGINE_HOST"), "the gateway, tcp://HOST:PORT (env PORTCULLIS_ENGINE_HOST)")
	cmd.Flags().StringVar(&caFile, "tlscacert", "", "CA that signed the gateway's certificate (default: $DOCKER_CERT_PATH/ca.pem if set, else the system's roots)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the token (default: env PORTCULLIS_ENGINE_TOKEN)")
	cmd.Flags().StringVar(&socket, "socket", "", "unix socket to listen on (default: $XDG_RUNTIME_DIR/portcullis/engine.sock, else ~/.portcullis/engine.sock)")
	return cmd
}

func connectToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("--token-file %s is empty", file)
		}
		return tok, nil
	}
	if tok := strings.TrimSpace(os.Getenv("PORTCULLIS_ENGINE_TOKEN")); tok != "" {
		return tok, nil
	}
	return "", errors.New("no token: pass --token-file FILE or set PORTCULLIS_ENGINE_TOKEN (a token from `portcullis engine token create`)")
}

func defaultConnectSocket() (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "portcullis", "engine.sock"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no --socket given and no home directory: %w", err)
	}
	return filepath.Join(home, ".portcullis", "engine.sock"), nil
}
