package server_test

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/keys"
)

// TestSigningCertificateExpiryIsLogged: a registry refuses every token
// whose x5c certificate has expired, and nothing else tells the operator
// why pushes and pulls suddenly fail; the server says so when it loads
// the key (start and SIGHUP), and warns a month ahead.
func TestSigningCertificateExpiryIsLogged(t *testing.T) {
	cases := []struct {
		name     string
		validity time.Duration
		want     string // "" = no warning
	}{
		{"expired", -time.Hour, "level=ERROR msg=\"token signing certificate has expired"},
		{"expires soon", 10 * 24 * time.Hour, "level=WARN msg=\"token signing certificate expires soon"},
		{"valid", 365 * 24 * time.Hour, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k, err := keys.Generate("ES256", keys.GenerateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			keyPath, certPath := filepath.Join(dir, "sign.key"), filepath.Join(dir, "sign.crt")
			if err := k.Save(keyPath, certPath); err != nil {
				t.Fatal(err)
			}
			// Replace the certificate by one of the wanted validity
			// (Generate refuses an expired one).
			now := time.Now()
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "signing"},
				NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(tc.validity)}
			signer := k.Private.(crypto.Signer)
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
				t.Fatal(err)
			}
			in := startPortcullis(t, fmt.Sprintf("token:\n  keys:\n    - {key: %s, cert: %s, alg: ES256, sign: true}\n", keyPath, certPath))
			in.srv.Reload()
			logs := in.Logs()
			if tc.want == "" {
				if strings.Contains(logs, "signing certificate") {
					t.Fatalf("warning for a valid certificate:\n%s", logs)
				}
				return
			}
			if n := strings.Count(logs, tc.want); n != 2 {
				t.Fatalf("want %q at start and at reload, found %d times:\n%s", tc.want, n, logs)
			}
			if !logLine(logs, tc.want, certPath, "kid="+k.KID) {
				t.Fatalf("the line does not name the certificate and kid:\n%s", logs)
			}
		})
	}
}
