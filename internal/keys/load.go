package keys

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Size bounds for files read by Load.
const (
	maxKeyFile  = 64 << 10
	maxCertFile = 1 << 20
)

// Load reads a key, and its certificate chain when certPath is not "".
//
// Asymmetric keys are PEM: PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE
// KEY") or SEC 1 ("EC PRIVATE KEY"; an "EC PARAMETERS" block before it is
// skipped). Encrypted keys are refused. alg may be "" to pick the usual
// algorithm for the key (ES256/384/512 by curve, RS256, EdDSA); otherwise
// the key must fit it. The certificate file holds PEM certificates, leaf
// first, and the leaf must be for this key.
//
// HS* files hold the secret as text: hex digits (what Save writes, and
// what `openssl rand -hex 32` prints), or "base64:" followed by standard
// base64. Surrounding whitespace is ignored. The secret must be at least
// as long as the hash (32, 48 or 64 bytes).
func Load(keyPath, certPath, alg string) (*Key, error) {
	data, err := readBounded(keyPath, maxKeyFile)
	if err != nil {
		return nil, err
	}
	var k *Key
	if IsHMAC(alg) {
		if certPath != "" {
			return nil, fmt.Errorf("%s: %s keys have no certificate; remove the cert setting", keyPath, alg)
		}
		secret, err := parseSecret(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyPath, err)
		}
		k, err = newKey(alg, secret, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyPath, err)
		}
		return k, nil
	}
	priv, err := parsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	var chain []*x509.Certificate
	if certPath != "" {
		cdata, err := readBounded(certPath, maxCertFile)
		if err != nil {
			return nil, err
		}
		chain, err = parseCertsPEM(cdata)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", certPath, err)
		}
	}
	if alg == "" {
		pub, err := publicOf(priv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyPath, err)
		}
		if alg, err = defaultAlg(pub); err != nil {
			return nil, fmt.Errorf("%s: %w", keyPath, err)
		}
	}
	k, err = newKey(alg, priv, chain)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return k, nil
}

// readBounded reads a whole file, refusing one larger than limit.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key material: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes, not a key or certificate file", path, limit)
	}
	return data, nil
}

// parsePrivateKeyPEM finds and parses the private key block.
func parsePrivateKeyPEM(data []byte) (any, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM private key found (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)")
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("encrypted private keys are not supported; decrypt it (openssl pkey -in KEY -out KEY.plain)")
		}
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS#8 private key: %w", err)
			}
			return k, nil
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS#1 RSA private key: %w", err)
			}
			return k, nil
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse SEC 1 EC private key: %w", err)
			}
			return k, nil
		case "EC PARAMETERS":
			// openssl ecparam -genkey writes this before the key.
			continue
		default:
			return nil, fmt.Errorf("unexpected PEM block %q where a private key was expected", block.Type)
		}
	}
}

// parseCertsPEM parses every CERTIFICATE block, in file order.
func parseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q in a certificate file", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate %d: %w", len(chain)+1, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return chain, nil
}

// secretBase64Prefix marks a base64 secret in an HS* key file.
const secretBase64Prefix = "base64:"

// parseSecret decodes an HS* key file.
func parseSecret(data []byte) ([]byte, error) {
	s := string(bytes.TrimSpace(data))
	if s == "" {
		return nil, errors.New("empty secret file")
	}
	if rest, ok := strings.CutPrefix(s, secretBase64Prefix); ok {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return nil, errors.New(`secret after "base64:" is not valid standard base64`)
		}
		return b, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		// The error is not wrapped: it could quote a byte of the secret.
		return nil, errors.New(`secret file must hold hex digits, or "base64:" followed by base64`)
	}
	return b, nil
}

// publicOf returns the public half of a parsed private key.
func publicOf(priv any) (crypto.PublicKey, error) {
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", priv)
	}
	return s.Public(), nil
}
