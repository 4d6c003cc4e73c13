package apigw

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestUnixSocketUpstream forwards to a server on a unix socket.
func TestUnixSocketUpstream(t *testing.T) {
	testenv.Integration(t)
	sock := filepath.Join(t.TempDir(), "up.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: newUpstream(t).Config.Handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	g := startGW(t, gwOpts{
		yaml: "routes:\n  - prefix: /api\n    upstream: unix://" + sock + "\n    strip_prefix: true\n",
		keys: "key001=" + seedKey001 + "\n",
	})
	a := g.do(t, "GET", "/api/getbestblockhash", fresh("001", seedKey001, 10*time.Second))
	a.want(t, http.StatusOK, "")
	if a.echo.Path != "/getbestblockhash" || a.echo.KeyID != "001" {
		t.Fatalf("upstream saw %+v", a.echo)
	}
}

// TestHTTPSUpstream checks an https upstream against upstream_ca, and that
// one signed by another CA is refused with 502.
func TestHTTPSUpstream(t *testing.T) {
	testenv.Integration(t)
	tlsServer := func(ca *testenv.CA, h http.Handler) *httptest.Server {
		s := httptest.NewUnstartedServer(h)
		s.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "upstream", "127.0.0.1").TLS}}
		s.StartTLS()
		t.Cleanup(s.Close)
		return s
	}
	trusted, untrusted := testenv.NewCA(t, "upstream CA"), testenv.NewCA(t, "other CA")
	up := tlsServer(trusted, newUpstream(t).Config.Handler)
	other := tlsServer(untrusted, newUpstream(t).Config.Handler)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, trusted.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGW(t, gwOpts{
		yaml: "routes:\n  - prefix: /good\n    upstream: " + up.URL + "\n    upstream_ca: " + ca +
			"\n  - prefix: /bad\n    upstream: " + other.URL + "\n    upstream_ca: " + ca + "\n",
		keys: "key001=" + seedKey001 + "\n",
	})
	a := g.do(t, "GET", "/good/x", fresh("001", seedKey001, 10*time.Second))
	a.want(t, http.StatusOK, "")
	if a.echo.Path != "/good/x" {
		t.Fatalf("upstream saw %+v", a.echo)
	}
	g.do(t, "GET", "/bad/x", fresh("001", seedKey001, 10*time.Second)).want(t, http.StatusBadGateway, ReasonBadGateway)
}
