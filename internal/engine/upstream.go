package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/config"
)

// newUpstream returns the daemon's base URL and a transport that reaches
// it: a unix socket, or TCP with the daemon's client certificate.
func newUpstream(cfg config.EngineConfig) (*url.URL, *http.Transport, error) {
	u, err := url.Parse(cfg.Upstream)
	if err != nil {
		return nil, nil, fmt.Errorf("engine upstream: %w", err)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Bodies pass through byte for byte: no transparent gzip.
		DisableCompression: true,
		WriteBufferSize:    64 << 10,
		ReadBufferSize:     64 << 10,
		// No ResponseHeaderTimeout: wait, attach and legacy builds answer
		// only when the daemon is done.
	}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", sock)
		}
		return &url.URL{Scheme: "http", Host: "docker"}, t, nil
	case "http":
		return &url.URL{Scheme: "http", Host: u.Host}, t, nil
	case "tcp", "https":
		tc, err := upstreamTLS(cfg.UpstreamTLS)
		if err != nil {
			return nil, nil, err
		}
		t.TLSClientConfig = tc
		return &url.URL{Scheme: "https", Host: u.Host}, t, nil
	}
	return nil, nil, fmt.Errorf("engine upstream: unsupported scheme %q", u.Scheme)
}

// directDialer dials a plain upstream (unix socket or http) for the
// direct path; nil for a TLS upstream, which only ReverseProxy serves.
func directDialer(cfg config.EngineConfig) func(context.Context) (net.Conn, error) {
	u, err := url.Parse(cfg.Upstream)
	if err != nil {
		return nil
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		return func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "unix", sock) }
	case "http":
		host := u.Host
		return func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", host) }
	}
	return nil
}

func upstreamTLS(c config.EngineUpstreamTLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, NextProtos: []string{"http/1.1"}}
	if c.CA != "" {
		pool, err := LoadCAPool(c.CA)
		if err != nil {
			return nil, fmt.Errorf("engine upstream CA: %w", err)
		}
		tc.RootCAs = pool
	}
	if c.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("engine upstream client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// bufferPool lends the reverse proxy 64 KiB copy buffers, so that
// streaming an image does not allocate per request.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }

// LoadCAPool reads the PEM certificates in path into a pool.
func LoadCAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}
