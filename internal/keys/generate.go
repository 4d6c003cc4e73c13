package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// GenerateOptions shape a new key's certificate and size.
type GenerateOptions struct {
	// CommonName of the self-signed certificate (default
	// DefaultCommonName).
	CommonName string
	// Validity of the certificate (default DefaultValidity). A registry
	// refuses tokens once the certificate in their x5c has expired.
	Validity time.Duration
	// RSABits is the modulus size for RS* keys (default DefaultRSABits).
	RSABits int
}

// Defaults for GenerateOptions.
const (
	DefaultCommonName = "portcullis token signing"
	DefaultValidity   = 10 * 365 * 24 * time.Hour
)

// Generate makes a new key. Asymmetric keys come with a self-signed
// certificate that can serve as the registry's auth.token.rootcertbundle;
// HS* keys are hash-sized random secrets (32, 48 or 64 bytes).
func Generate(alg string, opts GenerateOptions) (*Key, error) {
	info, err := algorithm(alg)
	if err != nil {
		return nil, err
	}
	var priv crypto.Signer
	switch info.family {
	case famHMAC:
		secret := make([]byte, info.size)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("generate %s secret: %w", alg, err)
		}
		return newKey(alg, secret, nil)
	case famEC:
		priv, err = ecdsa.GenerateKey(info.curve, rand.Reader)
	case famRSA:
		bits := opts.RSABits
		if bits == 0 {
			bits = DefaultRSABits
		}
		if bits < MinRSABits || bits > MaxRSABits {
			return nil, fmt.Errorf("RSA key size must be %d to %d bits, got %d", MinRSABits, MaxRSABits, bits)
		}
		priv, err = rsa.GenerateKey(rand.Reader, bits)
	case famEd25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	cert, err := selfSignedSigningCert(priv, opts)
	if err != nil {
		return nil, err
	}
	return newKey(alg, priv, []*x509.Certificate{cert})
}

// selfSignedSigningCert makes the certificate a registry trusts as the
// root of the token's x5c chain. It is a CA so it can sit in a root
// bundle; it has no extended key usage because registries verify the
// chain with ExtKeyUsageAny.
func selfSignedSigningCert(priv crypto.Signer, opts GenerateOptions) (*x509.Certificate, error) {
	cn := opts.CommonName
	if cn == "" {
		cn = DefaultCommonName
	}
	validity := opts.Validity
	if validity == 0 {
		validity = DefaultValidity
	}
	if validity < 0 {
		return nil, fmt.Errorf("certificate validity must be positive, got %s", validity)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Portcullis"}},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, fmt.Errorf("create signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing certificate: %w", err)
	}
	return cert, nil
}
