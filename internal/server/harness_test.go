package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/server"
	"github.com/portcullis/portcullis/internal/testenv"
	"golang.org/x/crypto/bcrypt"
)

// instance is a Portcullis started for one test.
type instance struct {
	srv       *server.Server
	cfg       *config.Config
	ca        *testenv.CA
	dataDir   string
	realm     string
	base      string
	client    *http.Client
	logs      *bytes.Buffer
	logWriter *syncWriter
}

// testUsers are written to the htpasswd file: name -> password.
var testUsers = map[string]string{
	"alice": "alice-secret",
	"bob":   "bob-secret",
	"carol": "carol-secret", // an admin (htpasswd admins list)
}

// startPortcullis runs a server with the given extra YAML (appended to a
// base config) on a free port, with a TLS certificate from a test CA.
func startPortcullis(t *testing.T, extraYAML string) *instance {
	t.Helper()
	return startPortcullisWith(t, harnessOptions{}, extraYAML)
}

// startPortcullisServer is startPortcullis with more keys of the server
// section (indented YAML lines, for example "  trusted_proxies: [...]\n").
func startPortcullisServer(t *testing.T, serverYAML, extraYAML string) *instance {
	t.Helper()
	return startPortcullisWith(t, harnessOptions{server: serverYAML}, extraYAML)
}

// harnessOptions change the base configuration.
type harnessOptions struct {
	// bcryptCost is authn.bcrypt_cost (default 4).
	bcryptCost int
	// static, when set, is a static authenticator's users (YAML of its
	// users map), asked after the app tokens and before htpasswd.
	static string
	// server is more keys of the server section (indented YAML lines).
	server string
}

func startPortcullisWith(t *testing.T, o harnessOptions, extraYAML string) *instance {
	t.Helper()
	if o.bcryptCost == 0 {
		o.bcryptCost = 4
	}
	staticLink := ""
	if o.static != "" {
		staticLink = "    - type: static\n      users: " + o.static + "\n"
	}
	dir := t.TempDir()
	ca := testenv.NewCA(t, "portcullis test CA")
	leaf := ca.Issue(t, "localhost", "localhost", "127.0.0.1")
	leaf.WriteFiles(t, dir, "tls")

	var ht strings.Builder
	for _, u := range []string{"alice", "bob", "carol"} {
		h, err := bcrypt.GenerateFromPassword([]byte(testUsers[u]), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&ht, "%s:%s\n", u, h)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(ht.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`data_dir: %s
server:
  addr: 127.0.0.1:%d
%sauthn:
  bcrypt_cost: %d
  chain:
    - type: apptoken
%s    - type: htpasswd
      path: %s
      admins: [carol]
    - type: db
`, dir, testenv.FreePort(t), o.server, o.bcryptCost, staticLink, filepath.Join(dir, "htpasswd")) + extraYAML
	cfg, err := config.Parse([]byte(yaml), "", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	logs := &bytes.Buffer{}
	lw := &syncWriter{w: logs}
	logger := slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, logger, io.Discard)
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var in *instance
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("server did not stop")
		}
		srv.Close()
		if t.Failed() {
			t.Logf("portcullis logs:\n%s", in.Logs())
		}
	})
	in = &instance{srv: srv, cfg: cfg, ca: ca, dataDir: dir, realm: srv.RealmURL(), logs: logs, logWriter: lw,
		base:   strings.TrimSuffix(srv.RealmURL(), cfg.Token.Route),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}}
	if err := testenv.WaitTCP(ctx, srv.Addr(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return in
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Logs returns the server's log output so far.
// postToken sends an OAuth2 form to /token and returns the status, the
// decoded answer (empty when it is not a token) and the raw body.
func (in *instance) postToken(t *testing.T, form url.Values) (int, tokenResponse, string) {
	t.Helper()
	resp, err := in.client.PostForm(in.base+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var tr tokenResponse
	_ = json.Unmarshal(b, &tr)
	return resp.StatusCode, tr, string(b)
}

func (in *instance) Logs() string {
	w := in.logWriter
	w.mu.Lock()
	defer w.mu.Unlock()
	return in.logs.String()
}

// registry starts a registry of the given line trusting this instance.
func (in *instance) registry(t *testing.T, line testenv.RegistryLine, jwks bool) *testenv.Registry {
	o := testenv.RegistryOptions{
		Line: line, Realm: in.realm, Service: in.cfg.Token.Service, Issuer: in.cfg.Token.Issuer, CA: in.ca,
	}
	if jwks {
		o.JWKS = filepath.Join(in.dataDir, "jwks.json")
	} else {
		o.RootCertBundle = in.cfg.Token.Keys[0].Cert
	}
	return testenv.StartRegistry(t, o)
}
