package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certs are the gateway's TLS files: a CA that clients trust (ca.pem) and
// the server certificate and key it signed. The CA's key is not kept: to
// add names, make a new set.
type Certs struct {
	CA, Cert, Key []byte
}

// CertFiles are the file names Certs are written under.
var CertFiles = [3]string{"ca.pem", "cert.pem", "key.pem"}

// MakeCerts makes a fresh CA and a server certificate for hosts (DNS
// names and IP addresses), ECDSA P-256.
func MakeCerts(hosts []string, validity time.Duration) (*Certs, error) {
	if len(hosts) == 0 {
		return nil, errors.New("engine certificate: no host names")
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("engine certificate: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Portcullis engine gateway CA", Organization: []string{"Portcullis"}},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("engine CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("engine certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"Portcullis"}},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("engine certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Certs{
		CA:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

// Write writes ca.pem, cert.pem and key.pem (mode 0600) into dir. Existing
// files are an error unless force.
func (c *Certs) Write(dir string, force bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	data := [3][]byte{c.CA, c.Cert, c.Key}
	if !force {
		for _, n := range CertFiles {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				return fmt.Errorf("%s already exists (use --force to replace the gateway's certificates)", filepath.Join(dir, n))
			}
		}
	}
	for i, n := range CertFiles {
		mode := os.FileMode(0o644)
		if n == "key.pem" {
			mode = 0o600
		}
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p+".tmp", data[i], mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}
