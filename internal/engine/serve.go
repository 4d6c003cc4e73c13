package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/portcullis/portcullis/internal/keys"
)

// certValidity is how long a certificate made on first start lasts.
const certValidity = 825 * 24 * time.Hour

// Run listens on the configured address (TLS unless insecure_http) and
// serves until ctx ends, then shuts down gracefully.
func (g *Gateway) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", g.cfg.Addr)
	if err != nil {
		return fmt.Errorf("engine gateway: listen: %w", err)
	}
	return g.Serve(ctx, ln)
}

// Serve serves on ln (wrapping it in TLS unless insecure_http) until ctx
// ends. Streams and hijacked connections get ShutdownTimeout to finish.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: g.cfg.ReadHeaderTimeout,
		// No ReadTimeout or WriteTimeout: image loads, logs -f, events and
		// exec sessions last as long as they last.
		IdleTimeout:    g.cfg.IdleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(g.logger.Handler(), slog.LevelDebug),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		// HTTP/1.1 only: exec and attach hijack the connection, which
		// HTTP/2 cannot do.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	if !g.cfg.Insecure {
		cert, err := g.loadCert()
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
		}
		ln = tls.NewListener(ln, srv.TLSConfig)
	} else {
		g.logger.Warn("engine gateway serving plain HTTP (engine.insecure_http): tokens cross its connections in clear; put a TLS-terminating proxy on the same host in front")
	}
	uctx, stopUsage := context.WithCancel(context.WithoutCancel(ctx))
	usageDone := make(chan struct{})
	go func() {
		defer close(usageDone)
		if g.usage != nil {
			g.usage.Run(uctx, 10*time.Second)
		}
	}()
	defer func() {
		stopUsage()
		<-usageDone
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	g.logger.Info("engine gateway listening", "addr", ln.Addr().String(), "tls", !g.cfg.Insecure, "upstream", g.cfg.Upstream)
	select {
	case err := <-errc:
		return fmt.Errorf("engine gateway: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Long streams outlived the grace period; cut them.
		_ = srv.Close()
	}
	g.direct.closeIdle()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("engine gateway: %w", err)
	}
	return nil
}

// loadCert loads the configured certificate, or makes a self-signed one
// on first start.
func (g *Gateway) loadCert() (tls.Certificate, error) {
	hosts := g.cfg.Hosts
	if len(hosts) == 0 {
		hosts = DefaultHosts()
	}
	cert, created, err := keys.EnsureTLS(g.cfg.TLSCert, g.cfg.TLSKey, hosts, certValidity)
	if err != nil {
		return cert, fmt.Errorf("engine gateway: %w", err)
	}
	if created {
		g.logger.Warn("engine gateway made a self-signed certificate; give clients its file as ca.pem, or run `portcullis engine init`",
			"cert", g.cfg.TLSCert, "hosts", hosts, "sha256", keys.CertFingerprint(cert.Certificate[0]))
	}
	return cert, nil
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
