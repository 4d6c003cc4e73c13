package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/keys"
	"github.com/spf13/cobra"
)

// newKeysCmd builds `portcullis keys` (signing keys).
func newKeysCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Token signing keys: generate and inspect",
	}
	cmd.AddCommand(newKeysGenerateCmd(a), newKeysShowCmd(a))
	return cmd
}

func newKeysGenerateCmd(a *App) *cobra.Command {
	var (
		alg, outKey, outCert, cn string
		validity                 time.Duration
		rsaBits                  int
		force                    bool
	)
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a signing key and its self-signed certificate",
		Long: `Generate a token signing key. Asymmetric keys (ES*, RS*, EdDSA) come with a
self-signed certificate for the registry's auth.token.rootcertbundle. HS* keys
are shared secrets written as hex; Docker registries cannot verify them.

The key goes to DATA_DIR/signing.key and the certificate to
DATA_DIR/signing.crt unless --out-key / --out-cert say otherwise. Existing
files are only replaced with --force: registries trusting the old
certificate refuse tokens signed by the new key until they are updated.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			hmac := keys.IsHMAC(alg)
			if hmac && outCert != "" {
				return fmt.Errorf("%s keys have no certificate; drop --out-cert", alg)
			}
			if outKey == "" {
				outKey = filepath.Join(cfg.DataDir, "signing.key")
			}
			if outCert == "" && !hmac {
				outCert = filepath.Join(cfg.DataDir, "signing.crt")
			}
			if !force {
				for _, p := range []string{outKey, outCert} {
					if p == "" {
						continue
					}
					if _, err := os.Stat(p); err == nil {
						return fmt.Errorf("%s exists; use --force to replace it (registries trusting the old key then refuse new tokens until updated)", p)
					} else if !errors.Is(err, os.ErrNotExist) {
						return fmt.Errorf("check %s: %w", p, err)
					}
				}
			}
			k, err := keys.Generate(alg, keys.GenerateOptions{CommonName: cn, Validity: validity, RSABits: rsaBits})
			if err != nil {
				return err
			}
			if err := k.Save(outKey, outCert); err != nil {
				return err
			}
			// The printed settings are pasted into files read from other
			// directories (the registry's above all): absolute paths.
			printGenerated(a.Stdout, cfg, k, absPath(outKey), absPath(outCert))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&alg, "alg", "ES256", "algorithm: "+strings.Join(keys.Algorithms, ", "))
	f.StringVar(&outKey, "out-key", "", "key file to write (default DATA_DIR/signing.key)")
	f.StringVar(&outCert, "out-cert", "", "certificate file to write (default DATA_DIR/signing.crt; none for HS*)")
	f.StringVar(&cn, "cn", keys.DefaultCommonName, "certificate common name")
	f.DurationVar(&validity, "validity", keys.DefaultValidity, "certificate validity; registries refuse tokens once it has passed")
	f.IntVar(&rsaBits, "rsa-bits", keys.DefaultRSABits, "RSA modulus size for RS* keys")
	f.BoolVar(&force, "force", false, "replace existing files")
	return cmd
}

// absPath is p made absolute, or p when it is "" or cannot be.
func absPath(p string) string {
	if p == "" {
		return p
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// printGenerated reports a new key and the configuration that uses it.
func printGenerated(w io.Writer, cfg *config.Config, k *keys.Key, keyPath, certPath string) {
	fmt.Fprintf(w, "Generated %s signing key\n", k.Alg)
	fmt.Fprintf(w, "  key:          %s\n", keyPath)
	if certPath != "" {
		fmt.Fprintf(w, "  certificate:  %s (expires %s)\n", certPath, k.NotAfter().UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "  alg:          %s\n", k.Alg)
	fmt.Fprintf(w, "  kid:          %s\n", k.KID)
	fmt.Fprintf(w, "  fingerprint:  %s\n", k.Fingerprint())
	if t := k.Thumbprint(); t != "" {
		fmt.Fprintf(w, "  thumbprint:   %s\n", t)
	}

	fmt.Fprintf(w, "\nPortcullis configuration (token section):\n")
	fmt.Fprintf(w, "  token:\n")
	if k.IsHMAC() {
		fmt.Fprintf(w, "    allow_hmac: true\n")
	}
	fmt.Fprintf(w, "    keys:\n      - key: %s\n", keyPath)
	if certPath != "" {
		fmt.Fprintf(w, "        cert: %s\n", certPath)
	}
	fmt.Fprintf(w, "        alg: %s\n        sign: true\n", k.Alg)

	if k.IsHMAC() {
		fmt.Fprintf(w, "\n%s tokens cannot be verified by a Docker registry (it needs a public key);\n"+
			"use this key only for consumers that share the secret.\n", k.Alg)
		return
	}
	fmt.Fprintf(w, "\nRegistry configuration (distribution config.yml):\n")
	fmt.Fprintf(w, "  auth:\n    token:\n")
	fmt.Fprintf(w, "      realm: %s\n", realmURL(cfg))
	fmt.Fprintf(w, "      service: %s\n", cfg.Token.Service)
	fmt.Fprintf(w, "      issuer: %s\n", cfg.Token.Issuer)
	if certPath != "" {
		fmt.Fprintf(w, "      rootcertbundle: %s\n", certPath)
	}
	if k.Alg == "EdDSA" {
		fmt.Fprintf(w, "\nEdDSA needs registry 3.x; registry 2.8 accepts only ES* and RS* keys.\n")
	}
}

// realmURL is the token endpoint as a client would reach it.
func realmURL(cfg *config.Config) string {
	scheme := "https"
	if cfg.Server.Insecure {
		scheme = "http"
	}
	addr := cfg.Server.Addr
	if strings.HasPrefix(addr, ":") {
		addr = "localhost" + addr
	}
	return scheme + "://" + addr + cfg.Token.Route
}

func newKeysShowCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Show the configured signing keys: kid, fingerprint, thumbprint, certificate expiry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			signer := 0
			for i, kc := range cfg.Token.Keys {
				if kc.Sign {
					signer = i
					break
				}
			}
			failed := 0
			now := time.Now()
			for i, kc := range cfg.Token.Keys {
				if i > 0 {
					fmt.Fprintln(a.Stdout)
				}
				role := "verifies"
				if i == signer {
					role = "signs"
				}
				fmt.Fprintf(a.Stdout, "token.keys[%d] (%s)\n", i, role)
				fmt.Fprintf(a.Stdout, "  key:          %s\n", kc.Key)
				if kc.Cert != "" {
					fmt.Fprintf(a.Stdout, "  cert:         %s\n", kc.Cert)
				}
				fmt.Fprintf(a.Stdout, "  alg:          %s\n", kc.Alg)
				if _, err := os.Stat(kc.Key); errors.Is(err, os.ErrNotExist) && !certExists(kc.Cert) {
					fmt.Fprintf(a.Stdout, "  status:       not created yet (portcullis serve creates it on first start)\n")
					continue
				}
				k, err := keys.Load(kc.Key, kc.Cert, kc.Alg)
				if err != nil {
					failed++
					fmt.Fprintf(a.Stdout, "  error:        %v\n", err)
					continue
				}
				fmt.Fprintf(a.Stdout, "  kid:          %s\n", k.KID)
				fmt.Fprintf(a.Stdout, "  fingerprint:  %s\n", k.Fingerprint())
				if t := k.Thumbprint(); t != "" {
					fmt.Fprintf(a.Stdout, "  thumbprint:   %s\n", t)
				}
				fmt.Fprintf(a.Stdout, "  cert expires: %s\n", expiry(k, now))
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d keys could not be loaded", failed, len(cfg.Token.Keys))
			}
			return nil
		},
	}
}

func certExists(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

// expiry describes when a key's certificate expires.
func expiry(k *keys.Key, now time.Time) string {
	na := k.NotAfter()
	switch {
	case k.IsHMAC():
		return "no certificate (HMAC secret)"
	case na.IsZero():
		return "no certificate (kid only; registries need rootcertbundle or a JWKS)"
	case !na.After(now):
		return fmt.Sprintf("%s EXPIRED: registries refuse its tokens", na.UTC().Format(time.RFC3339))
	default:
		return fmt.Sprintf("%s (in %d days)", na.UTC().Format(time.RFC3339), int(na.Sub(now).Hours()/24))
	}
}
