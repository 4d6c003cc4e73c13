package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	ggauthn "github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/portcullis/portcullis/internal/testenv"
)

const publicACL = `
acl:
  - match: {admin: true}
    actions: ["*"]
    comment: admins
  - match: {type: repository, name: "public/**"}
    actions: [pull]
    comment: anyone may pull public images
  - match: {anonymous: false, type: repository, name: "${account}/**"}
    actions: [pull, push, delete]
    comment: own namespace
`

func (in *instance) remoteOpts(user, pass string) []remote.Option {
	opts := []remote.Option{remote.WithTransport(in.client.Transport)}
	if user != "" {
		opts = append(opts, remote.WithAuth(&ggauthn.Basic{Username: user, Password: pass}))
	} else {
		opts = append(opts, remote.WithAuth(ggauthn.Anonymous))
	}
	return opts
}

func pushRandom(t *testing.T, in *instance, ref string, user, pass string) (v1.Image, error) {
	t.Helper()
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return img, remote.Write(r, img, in.remoteOpts(user, pass)...)
}

func layerDigestsAndBytes(t *testing.T, img v1.Image) map[v1.Hash][32]byte {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[v1.Hash][32]byte{}
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[d] = sha256.Sum256(b)
	}
	return out
}

func isDenied(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden
	}
	return err != nil && (strings.Contains(err.Error(), "DENIED") || strings.Contains(err.Error(), "UNAUTHORIZED"))
}

// TestRegistryInterop pushes and pulls through real registries of both
// lines, verifying Portcullis' tokens by certificate bundle and by JWKS.
func TestRegistryInterop(t *testing.T) {
	testenv.Integration(t)
	cases := []struct {
		name string
		line testenv.RegistryLine
		jwks bool
	}{
		{"v3-rootcertbundle", testenv.RegistryV3, false},
		{"v3-jwks", testenv.RegistryV3, true},
		{"v2-rootcertbundle", testenv.RegistryV2, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			extra := publicACL
			if tc.jwks {
				// A registry with a JWKS and no bundle cannot check an x5c chain.
				extra = "token:\n  omit_x5c: true\n" + publicACL
			}
			in := startPortcullis(t, extra)
			reg := in.registry(t, tc.line, tc.jwks)
			ref := reg.Host + "/alice/app:v1"

			img, err := pushRandom(t, in, ref, "alice", testUsers["alice"])
			if err != nil {
				t.Fatalf("alice push to her namespace: %v", err)
			}
			r, _ := name.ParseReference(ref)
			got, err := remote.Image(r, in.remoteOpts("alice", testUsers["alice"])...)
			if err != nil {
				t.Fatalf("alice pull: %v", err)
			}
			wantD, _ := img.Digest()
			gotD, err := got.Digest()
			if err != nil || gotD != wantD {
				t.Fatalf("pulled digest %v, want %v (%v)", gotD, wantD, err)
			}
			want, have := layerDigestsAndBytes(t, img), layerDigestsAndBytes(t, got)
			if len(want) != len(have) {
				t.Fatalf("layers differ")
			}
			for d, sum := range want {
				if have[d] != sum {
					t.Fatalf("layer %v differs after pull", d)
				}
			}

			if _, err := pushRandom(t, in, reg.Host+"/alice/app:bob", "bob", testUsers["bob"]); !isDenied(err) {
				t.Fatalf("bob push to alice/app: want denied, got %v", err)
			}
			if _, err := pushRandom(t, in, reg.Host+"/alice/app:x", "alice", "wrong-password"); !isDenied(err) {
				t.Fatalf("wrong password: want denied, got %v", err)
			}
			if _, err := pushRandom(t, in, reg.Host+"/public/base:1", "carol", testUsers["carol"]); err != nil {
				t.Fatalf("admin push to public: %v", err)
			}
			pr, _ := name.ParseReference(reg.Host + "/public/base:1")
			if _, err := remote.Image(pr, in.remoteOpts("", "")...); err != nil {
				t.Fatalf("anonymous pull of public image: %v", err)
			}
			if _, err := remote.Image(r, in.remoteOpts("", "")...); !isDenied(err) {
				t.Fatalf("anonymous pull of alice/app: want denied, got %v", err)
			}
			if _, err := pushRandom(t, in, reg.Host+"/public/base:2", "", ""); !isDenied(err) {
				t.Fatalf("anonymous push: want denied, got %v", err)
			}

			t.Run("skopeo", func(t *testing.T) {
				skopeo := testenv.Require(t, "skopeo")
				certDir := t.TempDir()
				if err := os.WriteFile(filepath.Join(certDir, "ca.crt"), in.ca.CertPEM, 0o644); err != nil {
					t.Fatal(err)
				}
				run := func(args ...string) (string, error) {
					cmd := exec.Command(skopeo, args...)
					cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SSL_CERT_FILE="+filepath.Join(certDir, "ca.crt"))
					out, err := cmd.CombinedOutput()
					return string(out), err
				}
				alice := "alice:" + testUsers["alice"]
				out, err := run("copy", "--src-cert-dir", certDir, "--dest-cert-dir", certDir,
					"--src-creds", alice, "--dest-creds", alice,
					"docker://"+ref, "docker://"+reg.Host+"/alice/copied:v1")
				if err != nil {
					t.Fatalf("skopeo copy as alice: %v\n%s", err, out)
				}
				out, err = run("inspect", "--cert-dir", certDir, "--creds", alice, "--raw", "docker://"+reg.Host+"/alice/copied:v1")
				if err != nil {
					t.Fatalf("skopeo inspect: %v\n%s", err, out)
				}
				if d := "sha256:" + sha256hex([]byte(out)); d != wantD.String() {
					t.Fatalf("copied manifest digest %s, want %s", d, wantD)
				}
				out, err = run("copy", "--src-cert-dir", certDir, "--dest-cert-dir", certDir,
					"--src-creds", alice, "--dest-creds", "bob:"+testUsers["bob"],
					"docker://"+ref, "docker://"+reg.Host+"/alice/bobwrites:v1")
				if err == nil {
					t.Fatalf("skopeo copy into alice/ as bob succeeded:\n%s", out)
				}
				out, err = run("inspect", "--cert-dir", certDir, "--creds", "alice:nope", "docker://"+ref)
				if err == nil {
					t.Fatalf("skopeo with a wrong password succeeded:\n%s", out)
				}
			})
		})
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	const hexd = "0123456789abcdef"
	out := make([]byte, 64)
	for i, c := range s {
		out[2*i], out[2*i+1] = hexd[c>>4], hexd[c&15]
	}
	return string(out)
}

// tokenResponse is the endpoint's JSON answer.
type tokenResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token"`
}

func (in *instance) getToken(t *testing.T, path, user, pass string, q url.Values) (*http.Response, tokenResponse, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", in.base+path+"?"+q.Encode(), nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := in.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tr tokenResponse
	_ = json.NewDecoder(bytes.NewReader(body)).Decode(&tr)
	return resp, tr, body
}
