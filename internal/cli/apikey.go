package cli

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portcullis/portcullis/internal/apigw"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/spf13/cobra"
)

// newAPIKeyCmd builds `portcullis apikey` (API-key gateway keys).
func newAPIKeyCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "API-key gateway keys: create, list, revoke, and sign tokens",
		Long: `Keys of the HMAC API-key gateway (cyphernode-compatible). Keys created here
are kept in the store; keys can also come from the gateway's keys.properties
file (see docs/apigw.md). Clients send short-lived HS256 bearer tokens signed
with the key; "apikey sign" makes one.`,
	}
	cmd.AddCommand(newAPIKeyCreateCmd(a), newAPIKeyListCmd(a), newAPIKeyRevokeCmd(a), newAPIKeySignCmd(a))
	return cmd
}

func newAPIKeyCreateCmd(a *App) *cobra.Command {
	var id string
	var groups []string
	cmd := &cobra.Command{
		Use:     "create [--id ID] [--groups a,b]",
		Short:   "Create a key in the store and print it (the only time it is shown)",
		Example: "  portcullis apikey create --groups stats,watcher\n  portcullis apikey create --id 004 --groups stats,watcher,spender",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			if !cfg.APIGateway.StoreKeysEnabled() {
				return fmt.Errorf("api_gateway.store_keys is false: the gateway does not read keys from the store, so a key created here would not work; add it to %s instead, or set store_keys: true", cfg.APIGateway.KeysFile)
			}
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			fileKeys, err := apigw.ReadKeyFile(cfg.APIGateway.KeysFile)
			if err != nil {
				return err
			}
			if id == "" {
				if id, err = nextKeyID(cmd, st, fileKeys); err != nil {
					return err
				}
			}
			if !apigw.ValidKeyID(id) {
				return fmt.Errorf("--id %q: use 1 to 64 letters, digits, - or _", id)
			}
			if _, inFile := fileKeys[id]; inFile {
				return fmt.Errorf("key %s is already in %s", id, cfg.APIGateway.KeysFile)
			}
			var gs []string
			for _, g := range groups {
				if g = strings.TrimSpace(g); g != "" {
					if strings.ContainsAny(g, " \t\r\n") {
						return fmt.Errorf("--groups: group %q: a group name is one word (separate groups with commas)", g)
					}
					gs = append(gs, g)
				}
			}
			var raw [32]byte
			if _, err := rand.Read(raw[:]); err != nil {
				return err
			}
			secret := hex.EncodeToString(raw[:])
			err = st.CreateAPIKey(cmd.Context(), store.APIKey{ID: id, Secret: secret, Groups: gs, CreatedAt: time.Now().UTC()})
			if errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("key %s already exists; pick another --id or revoke it first", id)
			}
			if err != nil {
				return fmt.Errorf("create key %s: %w", id, err)
			}
			w := a.Stdout
			fmt.Fprintf(w, "Created API key %s\n", id)
			fmt.Fprintf(w, "  groups: %s\n", strings.Join(gs, ","))
			fmt.Fprintf(w, "  key:    %s\n", secret)
			fmt.Fprintf(w, "\nThe key is shown only this once: give it to the client now.\n")
			fmt.Fprintf(w, "Sign a token with: portcullis apikey sign --id %s --key -   (key on stdin)\n", id)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "key id (default: the next free three-digit number, as cyphernode numbers keys)")
	cmd.Flags().StringSliceVar(&groups, "groups", nil, "groups of the key, comma-separated (stats,watcher,spender,admin)")
	return cmd
}

// nextKeyID is one more than the highest numeric id in use, three digits
// at least, as cyphernode's 000..003.
func nextKeyID(cmd *cobra.Command, st store.APIKeyStore, fileKeys map[string]*apigw.Key) (string, error) {
	ks, err := st.ListAPIKeys(cmd.Context())
	if err != nil {
		return "", fmt.Errorf("list keys: %w", err)
	}
	next := 0
	consider := func(id string) {
		if n, err := strconv.Atoi(id); err == nil && n >= next {
			next = n + 1
		}
	}
	for _, k := range ks {
		consider(k.ID)
	}
	for id := range fileKeys {
		consider(id)
	}
	return fmt.Sprintf("%03d", next), nil
}

func newAPIKeyListCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List keys (store and keys file), never their secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			ks, err := st.ListAPIKeys(cmd.Context())
			if err != nil {
				return fmt.Errorf("list keys: %w", err)
			}
			// A broken keys file (the gateway keeps its last good version)
			// does not hide the store's keys: they are listed, then the
			// error is returned.
			fileKeys, fileErr := apigw.ReadKeyFile(cfg.APIGateway.KeysFile)
			tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tGROUPS\tSOURCE\tCREATED")
			for _, k := range ks {
				src := "store"
				if _, shadowed := fileKeys[k.ID]; shadowed {
					src = "store (shadowed by file)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, strings.Join(k.Groups, ","), src, k.CreatedAt.UTC().Format(time.RFC3339))
			}
			ids := make([]string, 0, len(fileKeys))
			for id := range fileKeys {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				fmt.Fprintf(tw, "%s\t%s\t%s\t-\n", id, strings.Join(fileKeys[id].Groups, ","), "file")
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if fileErr != nil {
				return fmt.Errorf("%w (its keys are not listed)", fileErr)
			}
			return nil
		},
	}
}

func newAPIKeyRevokeCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Delete a key from the store (gateways stop accepting it within store_key_cache_ttl)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			st, err := a.Store(cmd.Context())
			if err != nil {
				return err
			}
			id := args[0]
			err = st.DeleteAPIKey(cmd.Context(), id)
			if errors.Is(err, store.ErrNotFound) {
				if fk, _ := apigw.ReadKeyFile(cfg.APIGateway.KeysFile); fk[id] != nil {
					return fmt.Errorf("key %s is in %s, not the store: remove its line there (the gateway reloads the file)", id, cfg.APIGateway.KeysFile)
				}
				return fmt.Errorf("no key %s", id)
			}
			if err != nil {
				return fmt.Errorf("revoke key %s: %w", id, err)
			}
			if fk, _ := apigw.ReadKeyFile(cfg.APIGateway.KeysFile); fk[id] != nil {
				return fmt.Errorf("removed the stored key %s, but %s also holds a key %s, which is still accepted: remove its line there (the gateway reloads the file)", id, cfg.APIGateway.KeysFile, id)
			}
			fmt.Fprintf(a.Stdout, "Revoked API key %s\n", id)
			return nil
		},
	}
}

func newAPIKeySignCmd(a *App) *cobra.Command {
	var id, key string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "sign --id ID --key HEX [--ttl 10s]",
		Short: "Print a bearer token for the API-key gateway",
		Long: `Print a token for key ID signed with its secret (HS256, base64url, as current
cyphernode clients make). --key - reads the secret from stdin, which keeps it
out of the shell history. Each token works once.`,
		Example: `  curl -H "Authorization: Bearer $(portcullis apikey sign --id 001 --key "$KEY")" https://gw:8443/v0/getbestblockhash`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !apigw.ValidKeyID(id) {
				return fmt.Errorf("--id %q: use 1 to 64 letters, digits, - or _", id)
			}
			if key == "-" {
				line, err := bufio.NewReader(io.LimitReader(a.Stdin, 4096)).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("read key from stdin: %w", err)
				}
				key = strings.TrimSpace(line)
			}
			if !apigw.ValidSecret(key) {
				return errors.New("--key must be the key's hex string (32 to 128 hex characters; keys made by apikey create and cyphernode are 64)")
			}
			if ttl <= 0 {
				return errors.New("--ttl must be positive")
			}
			if ttl > time.Minute {
				fmt.Fprintf(a.Stderr, "note: gateways refuse tokens living longer than their max_lifetime (default 60s)\n")
			}
			fmt.Fprintln(a.Stdout, apigw.Sign(id, key, time.Now().Add(ttl)))
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "key id")
	cmd.Flags().StringVar(&key, "key", "", "the key's hex secret, or - to read it from stdin")
	cmd.Flags().DurationVar(&ttl, "ttl", 10*time.Second, "token lifetime")
	_ = cmd.MarkFlagRequired("id")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}
