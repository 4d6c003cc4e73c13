package engine

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/portcullis/portcullis/internal/gwserver"
	"github.com/portcullis/portcullis/internal/keys"
)

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
	// The fast server reads the plain requests when the daemon is reached
	// without TLS: the direct path then forwards them (see directPool).
	srv := gwserver.New(ctx, gwserver.Options{Handler: g, ReadHeaderTimeout: g.cfg.ReadHeaderTimeout, IdleTimeout: g.cfg.IdleTimeout,
		Logger: g.logger, Fast: g.direct != nil && !g.noFastServer})
	if !g.cfg.Insecure {
		cert, err := g.loadCert()
		if err != nil {
			ln.Close()
			return err
		}
		ln = gwserver.ListenTLS(srv, ln, cert)
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

	g.logger.Info("engine gateway listening", "addr", ln.Addr().String(), "tls", !g.cfg.Insecure, "upstream", g.cfg.Upstream)
	err := srv.Serve(ctx, ln, g.cfg.ShutdownTimeout)
	g.direct.closeIdle()
	if err != nil {
		return fmt.Errorf("engine gateway: %w", err)
	}
	return nil
}

// loadCert loads the configured certificate, or makes a self-signed one
// on first start.
func (g *Gateway) loadCert() (tls.Certificate, error) {
	cert, created, hosts, err := gwserver.LoadCert(g.cfg.TLSCert, g.cfg.TLSKey, g.cfg.Hosts)
	if err != nil {
		return cert, fmt.Errorf("engine gateway: %w", err)
	}
	if created {
		g.logger.Warn("engine gateway made a self-signed certificate; give clients its file as ca.pem, or run `portcullis engine init`",
			"cert", g.cfg.TLSCert, "hosts", hosts, "sha256", keys.CertFingerprint(cert.Certificate[0]))
	}
	return cert, nil
}
