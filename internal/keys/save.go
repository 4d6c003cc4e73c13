package keys

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Save writes the key (mode 0600) and, when certPath is not "" and the key
// has a chain, the certificates (0644), each atomically so a crash never
// leaves half a key. Asymmetric keys are written as PKCS#8 PEM, HS*
// secrets as hex text; Load reads both back.
func (k *Key) Save(keyPath, certPath string) error {
	keyData, err := k.marshalPrivate()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return fmt.Errorf("create directory for %s: %w", keyPath, err)
	}
	if err := writeFileAtomic(keyPath, keyData, 0o600); err != nil {
		return err
	}
	if certPath == "" || len(k.Chain) == 0 {
		return nil
	}
	var certs bytes.Buffer
	for _, c := range k.Chain {
		if err := pem.Encode(&certs, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			return fmt.Errorf("encode certificate: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return fmt.Errorf("create directory for %s: %w", certPath, err)
	}
	return writeFileAtomic(certPath, certs.Bytes(), 0o644)
}

func (k *Key) marshalPrivate() ([]byte, error) {
	if secret, ok := k.Private.([]byte); ok {
		out := make([]byte, hex.EncodedLen(len(secret))+1)
		hex.Encode(out, secret)
		out[len(out)-1] = '\n'
		return out, nil
	}
	if k.Private == nil {
		return nil, errNoPrivate
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Ensure loads the key at keyPath (and its certificate at certPath, when
// not ""), or, when none of the files exists yet (first start), generates
// a key with Generate and saves it. created reports whether files were
// written. A key without its certificate, or the reverse, is an error:
// silently replacing either would break the registry's trust.
func Ensure(keyPath, certPath, alg string, opts GenerateOptions) (k *Key, created bool, err error) {
	if _, err := algorithm(alg); err != nil {
		return nil, false, err
	}
	if IsHMAC(alg) && certPath != "" {
		return nil, false, fmt.Errorf("%s keys have no certificate; remove the cert setting (%s)", alg, certPath)
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return nil, false, fmt.Errorf("create directory for %s: %w", keyPath, err)
	}
	// Processes starting at once on one data directory: one generates,
	// the others load what it wrote.
	defer lockDir(filepath.Dir(keyPath))()
	keyExists, err := exists(keyPath)
	if err != nil {
		return nil, false, err
	}
	certExists := false
	if certPath != "" {
		if certExists, err = exists(certPath); err != nil {
			return nil, false, err
		}
	}
	switch {
	case keyExists && (certExists || certPath == ""):
		k, err = Load(keyPath, certPath, alg)
		return k, false, err
	case keyExists:
		return nil, false, fmt.Errorf("signing key %s exists but its certificate %s does not; restore it or make a new pair with `portcullis keys generate`", keyPath, certPath)
	case certExists:
		return nil, false, fmt.Errorf("certificate %s exists but its signing key %s does not; restore it or make a new pair with `portcullis keys generate`", certPath, keyPath)
	}
	k, err = Generate(alg, opts)
	if err != nil {
		return nil, false, err
	}
	if err := k.Save(keyPath, certPath); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("check %s: %w", path, err)
}
