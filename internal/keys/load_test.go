package keys

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The expected kids were computed with openssl and coreutils, outside Go:
//
//	openssl pkey -in KEY -pubout -outform DER | openssl dgst -sha256 -binary |
//	  head -c 30 | base32 -w0 | sed 's/..../&:/g; s/:$//'
//
// and for Ed25519 the RFC 7638 thumbprint from the raw public key:
//
//	printf '{"crv":"Ed25519","kty":"OKP","x":"%s"}' X | openssl dgst -sha256 -binary | basenc --base64url
func TestLoadTestdata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, cert, alg string
		wantAlg, wantKID     string
		wantErr              string
	}{
		{name: "SEC1 P-256", key: "ec-p256-sec1.pem", alg: "ES256", wantAlg: "ES256", wantKID: "4BOO:DLHZ:TU25:KKIM:B23E:A6YD:XDFG:S6G6:ZTS7:3CEW:5KH3:5YGX"},
		{name: "SEC1 P-256 with openssl cert", key: "ec-p256-sec1.pem", cert: "ec-p256.crt", alg: "ES256", wantAlg: "ES256", wantKID: "4BOO:DLHZ:TU25:KKIM:B23E:A6YD:XDFG:S6G6:ZTS7:3CEW:5KH3:5YGX"},
		{name: "alg inferred", key: "ec-p256-sec1.pem", wantAlg: "ES256", wantKID: "4BOO:DLHZ:TU25:KKIM:B23E:A6YD:XDFG:S6G6:ZTS7:3CEW:5KH3:5YGX"},
		{name: "PKCS1 RSA with cert", key: "rsa2048-pkcs1.pem", cert: "rsa2048.crt", alg: "RS384", wantAlg: "RS384", wantKID: "GPTC:5GEX:BZDG:XAMY:2PTE:47DA:Q4KS:BMKT:SLYR:WL6W:DVLN:ABOU"},
		{name: "PKCS8 Ed25519", key: "ed25519-pkcs8.pem", alg: "EdDSA", wantAlg: "EdDSA", wantKID: "XkHApMUNsUwYpawnErUT-QloNQNgJk0kLKI21k5Lg4Y"},
		{name: "EC PARAMETERS block skipped", key: "ec-p384-with-params.pem", alg: "ES384", wantAlg: "ES384"},
		{name: "ES256 needs P-256", key: "ec-p384-with-params.pem", alg: "ES256", wantErr: "ES256 needs an ECDSA P-256 key, got ECDSA P-384 key"},
		{name: "ES512 needs P-521", key: "ec-p256-sec1.pem", alg: "ES512", wantErr: "ES512 needs an ECDSA P-521 key"},
		{name: "RS256 needs RSA", key: "ec-p256-sec1.pem", alg: "RS256", wantErr: "RS256 needs an RSA key, got ECDSA P-256 key"},
		{name: "EdDSA needs Ed25519", key: "rsa2048-pkcs1.pem", alg: "EdDSA", wantErr: "EdDSA needs an Ed25519 key, got RSA 2048-bit key"},
		{name: "ES256 refuses Ed25519", key: "ed25519-pkcs8.pem", alg: "ES256", wantErr: "got Ed25519 key"},
		{name: "cert for another key", key: "ec-p256-sec1.pem", cert: "rsa2048.crt", alg: "ES256", wantErr: "certificate (subject \"CN=openssl made,O=Test\") is for a different key"},
		{name: "encrypted", key: "ec-p256-encrypted.pem", alg: "ES256", wantErr: "encrypted private keys are not supported"},
		{name: "cert is not a key", key: "rsa2048.crt", alg: "RS256", wantErr: `unexpected PEM block "CERTIFICATE"`},
		{name: "key is not a cert", key: "ec-p256-sec1.pem", cert: "ec-p256-sec1.pem", alg: "ES256", wantErr: `unexpected PEM block "EC PRIVATE KEY" in a certificate file`},
		{name: "unknown alg", key: "ec-p256-sec1.pem", alg: "ES257", wantErr: `unsupported algorithm "ES257"`},
		{name: "HS with cert", key: "ec-p256-sec1.pem", cert: "ec-p256.crt", alg: "HS256", wantErr: "HS256 keys have no certificate"},
		{name: "missing file", key: "nope.pem", alg: "ES256", wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cert := ""
			if tt.cert != "" {
				cert = filepath.Join("testdata", tt.cert)
			}
			k, err := Load(filepath.Join("testdata", tt.key), cert, tt.alg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Alg != tt.wantAlg {
				t.Errorf("alg %s, want %s", k.Alg, tt.wantAlg)
			}
			if tt.wantKID != "" && k.KID != tt.wantKID {
				t.Errorf("kid %s, want %s", k.KID, tt.wantKID)
			}
			if _, err := k.SignCompact([]byte(`{}`)); err != nil {
				t.Errorf("sign: %v", err)
			}
		})
	}
}

func TestLoadHMACSecret(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")[:48]
	tests := []struct {
		name, content, alg string
		want               []byte
		wantErr            string
	}{
		{name: "hex", content: "  " + hex.EncodeToString(secret) + "\n", alg: "HS384", want: secret},
		{name: "base64", content: "base64:" + base64.StdEncoding.EncodeToString(secret) + "\n", alg: "HS384", want: secret},
		{name: "too short for HS512", content: "base64:" + base64.StdEncoding.EncodeToString(secret), alg: "HS512", wantErr: "HS512 needs a secret of at least 64 bytes, got 48"},
		{name: "raw text refused", content: "correct horse battery staple correct horse battery", alg: "HS256", wantErr: "must hold hex digits"},
		{name: "bad base64", content: "base64:@@@", alg: "HS256", wantErr: "not valid standard base64"},
		{name: "empty", content: "\n", alg: "HS256", wantErr: "empty secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "hs.key")
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := Load(p, "", tt.alg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if c := strings.TrimSpace(tt.content); c != "" && strings.Contains(err.Error(), c) {
					t.Errorf("error quotes the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(k.Private.([]byte)) != string(tt.want) {
				t.Errorf("secret %q", k.Private)
			}
		})
	}
}

func TestLoadRefusesHugeFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "big.pem")
	if err := os.WriteFile(p, make([]byte, maxKeyFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p, "", "ES256"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err %v", err)
	}
}

func TestSaveWritesCertChainReadableByLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := genKey(t, "ES256")
	kp, cp := filepath.Join(dir, "k"), filepath.Join(dir, "c")
	if err := k.Save(kp, cp); err != nil {
		t.Fatal(err)
	}
	pemKey, _ := os.ReadFile(kp)
	if !strings.HasPrefix(string(pemKey), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key not PKCS#8 PEM: %.40q", pemKey)
	}
	fi, _ := os.Stat(cp)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("cert mode %o", fi.Mode().Perm())
	}
	// A cert file from another key makes Load fail.
	other := genKey(t, "ES256")
	if err := other.Save(filepath.Join(dir, "k2"), cp); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(kp, cp, "ES256"); err == nil || !strings.Contains(err.Error(), "different key") {
		t.Fatalf("mismatched cert accepted: %v", err)
	}
}

func TestEnsure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kp, cp := filepath.Join(dir, "data", "signing.key"), filepath.Join(dir, "data", "signing.crt")
	k1, created, err := Ensure(kp, cp, "ES256", testOpts)
	if err != nil || !created {
		t.Fatalf("first Ensure: created=%v err=%v", created, err)
	}
	k2, created, err := Ensure(kp, cp, "ES256", testOpts)
	if err != nil || created {
		t.Fatalf("second Ensure: created=%v err=%v", created, err)
	}
	if k1.KID != k2.KID || len(k2.Chain) != 1 {
		t.Fatalf("second start got another key: %s vs %s", k1.KID, k2.KID)
	}
	if _, _, err := Ensure(kp, cp, "RS256", testOpts); err == nil || !strings.Contains(err.Error(), "RS256 needs an RSA key") {
		t.Fatalf("existing EC key accepted as RS256: %v", err)
	}

	if err := os.Remove(cp); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Ensure(kp, cp, "ES256", testOpts); err == nil || !strings.Contains(err.Error(), "exists but its certificate") {
		t.Fatalf("key without cert: %v", err)
	}
	if _, _, err := Ensure(filepath.Join(dir, "other.key"), filepath.Join(dir, "data", "signing.key"), "ES256", testOpts); err == nil || !strings.Contains(err.Error(), "does not") {
		t.Fatalf("cert without key: %v", err)
	}

	hp := filepath.Join(dir, "hs.key")
	h1, created, err := Ensure(hp, "", "HS512", testOpts)
	if err != nil || !created || len(h1.Private.([]byte)) != 64 {
		t.Fatalf("HS512 Ensure: %v %v", created, err)
	}
	h2, _, err := Ensure(hp, "", "HS512", testOpts)
	if err != nil || h2.KID != h1.KID {
		t.Fatalf("HS512 reload: %v", err)
	}
	if _, _, err := Ensure(hp, cp, "HS512", testOpts); err == nil {
		t.Fatal("HS512 with a cert path accepted")
	}
}
