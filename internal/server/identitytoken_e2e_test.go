package server_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	ggauthn "github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestIdentityTokenSharedByClients: `docker login` stores the refresh
// token it got with client_id=docker as `identitytoken` in
// ~/.docker/config.json, and every other client that reads that file
// refreshes it under its own, hard-coded client id: Docker's containerd
// image store and containerd "containerd-client", skopeo and podman
// "containers/image", crane "go-containerregistry". The client id is a
// self-asserted label, not a client credential, so the token must work
// for all of them.
func TestIdentityTokenSharedByClients(t *testing.T) {
	testenv.Integration(t)
	in := startPortcullis(t, publicACL)
	reg := in.registry(t, testenv.RegistryV3, false)
	ref := reg.Host + "/alice/app:v1"
	if _, err := pushRandom(t, in, ref, "alice", testUsers["alice"]); err != nil {
		t.Fatalf("push: %v", err)
	}

	// login exactly as docker login does: GET, Basic, no scope.
	login := func(t *testing.T) string {
		t.Helper()
		resp, tr, body := in.getToken(t, "/token", "alice", testUsers["alice"], url.Values{
			"account": {"alice"}, "client_id": {"docker"}, "offline_token": {"true"}, "service": {in.cfg.Token.Service}})
		if resp.StatusCode != http.StatusOK || tr.RefreshToken == "" {
			t.Fatalf("docker-style login: %d %s", resp.StatusCode, body)
		}
		return tr.RefreshToken
	}

	cases := []struct {
		name string
		pull func(t *testing.T, identityToken string) error
	}{
		{"containerd (POST client_id=containerd-client)", func(t *testing.T, it string) error {
			resp, err := in.client.PostForm(in.realm, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {it},
				"client_id": {"containerd-client"}, "service": {in.cfg.Token.Service}, "scope": {"repository:alice/app:pull"}})
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("refresh grant: status %d", resp.StatusCode)
			}
			return nil
		}},
		{"crane (go-containerregistry)", func(t *testing.T, it string) error {
			r, err := name.ParseReference(ref)
			if err != nil {
				t.Fatal(err)
			}
			_, err = remote.Image(r, remote.WithTransport(in.client.Transport),
				remote.WithAuth(ggauthn.FromConfig(ggauthn.AuthConfig{IdentityToken: it})))
			return err
		}},
		{"skopeo (containers/image)", func(t *testing.T, it string) error {
			skopeo := testenv.Require(t, "skopeo")
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "ca.crt"), in.ca.CertPEM, 0o644); err != nil {
				t.Fatal(err)
			}
			// The file docker login writes: the user name without the
			// password, and the identity token.
			cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q,"identitytoken":%q}}}`,
				reg.Host, base64.StdEncoding.EncodeToString([]byte("alice:")), it)
			authfile := filepath.Join(dir, "config.json")
			if err := os.WriteFile(authfile, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(skopeo, "inspect", "--raw", "--cert-dir", dir, "--authfile", authfile, "docker://"+ref)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%w\n%s", err, out)
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.pull(t, login(t)); err != nil {
				t.Fatalf("pull with docker login's identity token: %v", err)
			}
		})
	}
}
