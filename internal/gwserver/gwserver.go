// Package gwserver is the HTTP server both gateways (the Docker Engine API
// gateway and the API-key gateway) run: HTTP/1.1 only, the project's
// timeouts, TLS with a configured certificate or one made on first start,
// and a fast server that reads plain GET and HEAD requests itself and
// hands every other connection to net/http.
package gwserver

import (
	"context"
	"crypto/tls"
	"errors"
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
	// Fast puts the fast server (see fastServer) in front of net/http:
	// for gateways whose handler forwards plain requests without
	// net/http's client.
	Fast bool
	// WatchAfter is how long a request served by the fast server runs
	// before a read watches for its client going away; DefaultWatchAfter
	// when 0.
	WatchAfter time.Duration
}

// DefaultWatchAfter: most answers are done sooner; a client that gives up
// on a slower one is noticed this much later than net/http notices it.
const DefaultWatchAfter = 20 * time.Millisecond

// Server is net/http's server, optionally behind the fast server.
type Server struct {
	*http.Server
	logger     *slog.Logger
	base       context.Context
	fast       bool
	watchAfter time.Duration
}

// New returns the server. It has no ReadTimeout or WriteTimeout: image
// loads, downloads, event streams, exec sessions and websockets last as
// long as they last; the gateways bound idle streams themselves. It speaks
// HTTP/1.1 only: exec, attach and websockets take the connection over,
// which HTTP/2 cannot do. Requests' contexts outlive ctx's cancellation,
// so that Shutdown, not ctx, ends them.
func New(ctx context.Context, o Options) *Server {
	base := context.WithoutCancel(ctx)
	watch := o.WatchAfter
	if watch <= 0 {
		watch = DefaultWatchAfter
	}
	return &Server{
		Server: &http.Server{
			Handler:           o.Handler,
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			IdleTimeout:       o.IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
			BaseContext:       func(net.Listener) context.Context { return base },
			TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
			// A connection the fast server handed over is not a
			// *tls.Conn to net/http: its TLS state reaches the handler
			// through the context (see TLSState).
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				if st := tlsStateOf(c); st != nil {
					return context.WithValue(ctx, tlsStateKey{}, st)
				}
				return ctx
			},
		},
		logger: o.Logger, base: base, fast: o.Fast, watchAfter: watch,
	}
}

// tlsStateKey carries a handed-over connection's TLS state.
type tlsStateKey struct{}

// TLSState is the TLS state of the connection r came on, nil over plain
// HTTP: r.TLS, or, on a connection the fast server handed to net/http,
// the state kept in the request's context.
func TLSState(r *http.Request) *tls.ConnectionState {
	if r.TLS != nil {
		return r.TLS
	}
	st, _ := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState)
	return st
}

// Serve serves ln until ctx ends, then shuts down: idle connections are
// closed at once, requests in progress (streams, hijacked connections)
// get grace to finish and are then cut. It returns the error that stopped
// serving before ctx ended, or nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 2)
	servers := 1 // goroutines that report on errc
	var fs *fastServer
	if s.fast {
		hand := newHandoff(ln.Addr())
		fs = &fastServer{h: s.Handler, logger: s.logger, base: s.base, hand: hand,
			readHeaderTimeout: s.ReadHeaderTimeout, idleTimeout: s.IdleTimeout, watchAfter: s.watchAfter,
			conns: map[*fastConn]struct{}{}}
		go func() { errc <- s.Server.Serve(hand) }()
		go func() { errc <- fs.serve(ln) }()
		servers = 2
	} else {
		go func() { errc <- s.Server.Serve(ln) }()
	}
	var failed error
	select {
	case failed = <-errc:
		servers--
	case <-ctx.Done():
	}
	ln.Close() // the fast server's accept loop ends
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	// Both servers wind down at once, so that each has the whole grace
	// period for its streams.
	fastDone := make(chan struct{})
	go func() {
		defer close(fastDone)
		if fs != nil {
			fs.shutdown(sctx.Done())
		}
	}()
	if err := s.Shutdown(sctx); err != nil {
		// Long streams outlived the grace period; cut them.
		_ = s.Close()
	}
	<-fastDone
	for range servers {
		if err := <-errc; failed == nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			failed = err
		}
	}
	if errors.Is(failed, http.ErrServerClosed) || errors.Is(failed, net.ErrClosed) && ctx.Err() != nil {
		return nil
	}
	return failed
}

// ListenTLS sets srv's TLS configuration to cert (TLS 1.2 and up,
// HTTP/1.1) and returns ln wrapped in it.
func ListenTLS(srv *Server, ln net.Listener, cert tls.Certificate) net.Listener {
	srv.TLSConfig = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	}
	return tlsListener{Listener: ln, config: srv.TLSConfig}
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
