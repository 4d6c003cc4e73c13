// Package gwserver is the HTTP server both gateways (the Docker Engine API
// gateway and the API-key gateway) run: HTTP/1.1 only, the project's
// timeouts, and TLS with a configured certificate or one made on first
// start.
package gwserver

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/portcullis/portcullis/internal/keys"
)

// CertValidity is how long a certificate made on first start lasts.
const CertValidity = 825 * 24 * time.Hour

// Options are what differs between the gateways' servers.
type Options struct {
	Handler           http.Handler
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	Logger            *slog.Logger
}

// New returns the server. It has no ReadTimeout or WriteTimeout: image
// loads, downloads, event streams, exec sessions and websockets last as
// long as they last; the gateways bound idle streams themselves. It speaks
// HTTP/1.1 only: exec, attach and websockets take the connection over,
// which HTTP/2 cannot do. Requests' contexts outlive ctx's cancellation,
// so that Shutdown, not ctx, ends them.
func New(ctx context.Context, o Options) *http.Server {
	return &http.Server{
		Handler:           o.Handler,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
}

// ListenTLS sets srv's TLS configuration to cert (TLS 1.2 and up,
// HTTP/1.1) and returns ln wrapped in it.
func ListenTLS(srv *http.Server, ln net.Listener, cert tls.Certificate) net.Listener {
	srv.TLSConfig = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	}
	return tls.NewListener(ln, srv.TLSConfig)
}

// LoadCert loads the certificate at certFile and keyFile, or makes a
// self-signed one for hosts (DefaultHosts when empty) when neither file
// exists yet. created reports the latter, with the hosts used.
func LoadCert(certFile, keyFile string, hosts []string) (cert tls.Certificate, created bool, used []string, err error) {
	if len(hosts) == 0 {
		hosts = DefaultHosts()
	}
	cert, created, err = keys.EnsureTLS(certFile, keyFile, hosts, CertValidity)
	return cert, created, hosts, err
}

// DefaultHosts are the names a certificate is made for when none are
// configured: the machine's hostname, localhost and 127.0.0.1.
func DefaultHosts() []string {
	hosts := []string{}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		hosts = append(hosts, h)
	}
	return append(hosts, "localhost", "127.0.0.1")
}
