package apigw

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
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
		return fmt.Errorf("API-key gateway: listen: %w", err)
	}
	return g.Serve(ctx, ln)
}

// Serve serves on ln (wrapped in TLS unless insecure_http) until ctx ends.
// It also watches the keys file and sweeps the replay cache.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	srv := gwserver.New(ctx, gwserver.Options{Handler: g, ReadHeaderTimeout: g.cfg.ReadHeaderTimeout, IdleTimeout: g.cfg.IdleTimeout,
		Logger: g.logger, Fast: g.fastServing()})
	if !g.cfg.Insecure {
		cert, err := g.loadCert()
		if err != nil {
			ln.Close()
			return err
		}
		ln = gwserver.ListenTLS(srv, ln, cert)
	}
	bctx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	go g.keys.watch(bctx, g.cfg.KeysReloadInterval)
	go g.sweepReplay(bctx)

	g.logger.Info("API-key gateway listening", "addr", ln.Addr().String(), "tls", !g.cfg.Insecure,
		"routes", len(g.routes), "file_keys", g.keys.fileKeys(), "replay", g.cfg.Replay, "fast_server", g.fastServing())
	if err := srv.Serve(ctx, ln, g.cfg.ShutdownTimeout); err != nil {
		return fmt.Errorf("API-key gateway: %w", err)
	}
	return nil
}

// fastServing reports whether the fast server reads requests: when every
// route has the fast path (plain HTTP or unix-socket upstreams).
func (g *Gateway) fastServing() bool {
	if g.noFastServer {
		return false
	}
	for _, r := range g.routes {
		if r.fast == nil {
			return false
		}
	}
	return true
}

func (g *Gateway) sweepReplay(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := g.replay.purge(ctx); err != nil && ctx.Err() == nil {
				g.logger.Warn("purging expired replay entries failed", "err", err)
			}
		}
	}
}

// loadCert loads the configured certificate or makes a self-signed one on
// first start, and logs its fingerprint so clients can pin it.
func (g *Gateway) loadCert() (tls.Certificate, error) {
	cert, created, hosts, err := gwserver.LoadCert(g.cfg.TLSCert, g.cfg.TLSKey, g.cfg.Hosts)
	if err != nil {
		return cert, fmt.Errorf("API-key gateway: %w", err)
	}
	fp := keys.CertFingerprint(cert.Certificate[0])
	if created {
		g.logger.Warn("API-key gateway made a self-signed certificate; give clients its file or pin its fingerprint",
			"cert", g.cfg.TLSCert, "hosts", hosts, "sha256", fp)
		fmt.Fprintf(os.Stderr, "API-key gateway: self-signed certificate %s, SHA-256 fingerprint %s\n", g.cfg.TLSCert, fp)
	} else {
		g.logger.Info("API-key gateway certificate", "cert", g.cfg.TLSCert, "sha256", fp)
	}
	return cert, nil
}
