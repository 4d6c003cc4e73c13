package apigw

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
)

// streamFlushInterval bounds how long a response of known length may sit
// in the write buffer (headers before a slow body, a slow download).
const streamFlushInterval = 20 * time.Millisecond

// maxResponseHeaderBytes bounds an upstream's response headers, as
// http.Transport does by default.
const maxResponseHeaderBytes = 10 << 20

// newProxy builds the reverse proxy of one route: Authorization removed,
// the key id and groups added, bodies streamed both ways, upgrades
// (websockets) passed through.
func (g *Gateway) newProxy(cfg *config.APIGatewayConfig, rc config.APIRoute, r *route) (*httputil.ReverseProxy, error) {
	u, err := url.Parse(rc.Upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	idle := cfg.StreamIdleTimeout
	// http.Transport's connections move their deadlines on every read and
	// write (see idleConn); the direct path's reads do so in copyBody.
	idleDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil || idle <= 0 {
			return c, err
		}
		return &idleConn{Conn: c, idle: idle}, nil
	}
	tr := &http.Transport{
		Proxy: nil, // never an environment proxy
		// Pass the client's Accept-Encoding and the upstream's encoding
		// through untouched instead of gzipping and un-gzipping here.
		DisableCompression:     true,
		DialContext:            idleDial,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  rc.ResponseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    512,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	target := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/")}
	var rt http.RoundTripper = tr
	// Plain HTTP upstreams take body-less GET and HEAD requests on the
	// handler's goroutine (see directTransport); the rest goes through tr.
	direct := func(dial func(ctx context.Context) (net.Conn, error)) {
		if !directSupported {
			return
		}
		rt = &directTransport{
			fallback:              tr,
			dial:                  dial,
			responseHeaderTimeout: rc.ResponseHeaderTimeout,
			idleTimeout:           tr.IdleConnTimeout,
			maxIdle:               tr.MaxIdleConnsPerHost,
			maxHeaderBytes:        maxResponseHeaderBytes,
		}
	}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return idleDial(ctx, "unix", sock)
		}
		target = &url.URL{Scheme: "http", Host: "localhost"}
		direct(func(ctx context.Context) (net.Conn, error) { return dialer.DialContext(ctx, "unix", sock) })
	case "https":
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if rc.UpstreamCA != "" {
			pem, err := os.ReadFile(rc.UpstreamCA)
			if err != nil {
				return nil, fmt.Errorf("upstream_ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("upstream_ca %s: no PEM certificate", rc.UpstreamCA)
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	case "http":
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
		direct(func(ctx context.Context) (net.Conn, error) { return dialer.DialContext(ctx, "tcp", addr) })
	default:
		return nil, fmt.Errorf("upstream %q: scheme must be http, https or unix", rc.Upstream)
	}
	idH, groupsH := http.CanonicalHeaderKey(cfg.KeyIDHeader), http.CanonicalHeaderKey(cfg.GroupsHeader)
	if dt, ok := rt.(*directTransport); ok {
		r.fast = &fastForward{t: dt, route: r, host: target.Host, base: target.Path, idH: idH, grpH: groupsH, bufs: g.bufs, idle: idle}
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			p := out.URL.Path
			if r.strip {
				p = r.rest(p)
			}
			// The path was checked in decoded form; send that form so
			// the upstream cannot see another action behind %2F.
			out.URL.Path, out.URL.RawPath = p, ""
			pr.SetURL(target)
			pr.SetXForwarded()
			// The names are canonical, and so are the incoming ones net/http
			// could parse, so delete is Header.Del without re-canonicalising.
			h := out.Header
			delete(h, "Authorization")
			delete(h, idH)
			delete(h, groupsH)
			dropAliases(h, idH, groupsH)
			if ri := reqInfoFrom(pr.In.Context()); ri != nil && ri.key != nil {
				h[idH] = []string{ri.key.ID}
				h[groupsH] = []string{ri.key.groupsHeader}
			}
		},
		Transport:  rt,
		BufferPool: g.bufs,
		// ReverseProxy already flushes every write of server-sent events
		// and of bodies of unknown length (chunked streams). A body of
		// known length is flushed within streamFlushInterval. -1 here
		// would flush the headers from a timer goroutine on every
		// response: one more goroutine and one more write per request.
		FlushInterval: streamFlushInterval,
		ErrorLog:      slog.NewLogLogger(g.logger.Handler(), slog.LevelDebug),
		ModifyResponse: func(resp *http.Response) error {
			if ri := reqInfoFrom(resp.Request.Context()); ri != nil {
				ri.upstream = time.Since(ri.start)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			upstreamFailed(req.Context(), w, reqInfoFrom(req.Context()), err)
		},
	}, nil
}

// dropAliases deletes the headers that spell Authorization or an identity
// header with '_' for '-' (X_Portcullis_Key_Id): CGI-style upstreams
// (HTTP_X_PORTCULLIS_KEY_ID) cannot tell them from the real ones, so a
// client could pass one as its own identity.
func dropAliases(h http.Header, names ...string) {
	for k := range h {
		if strings.IndexByte(k, '_') >= 0 && isAlias(k, names...) {
			delete(h, k)
		}
	}
}
