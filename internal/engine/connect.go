package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The connector is the client side of the gateway for docker clients that
// cannot send a header with every request. buildx (and so `docker build`
// wherever buildx is installed) makes its own API client from the docker
// context and ignores HttpHeaders in config.json, so it reaches the gateway
// without a token. The connector listens on a unix socket that only its
// user can open, adds the token to every request (the upgrade requests of
// exec, attach, /grpc and /session included) and forwards over TLS to the
// gateway; the client points DOCKER_HOST at the socket.

// ConnectOptions configure a connector.
type ConnectOptions struct {
	// Gateway is the gateway's address: tcp://HOST:PORT or https://HOST:PORT.
	Gateway string
	// RootCAs verify the gateway's certificate (its ca.pem); nil uses the
	// system roots.
	RootCAs *x509.CertPool
	// Token is sent as "Authorization: Bearer <Token>".
	Token string
	// Logger gets a line per failed forward; nil discards.
	Logger *slog.Logger
}

// Connector forwards docker API requests to the gateway with a token.
type Connector struct {
	target *url.URL
	token  string
	tr     *http.Transport
	srv    *http.Server
	logger *slog.Logger
}

// NewConnector checks opts and builds a connector; Ping tells whether the
// gateway takes the token.
func NewConnector(opts ConnectOptions) (*Connector, error) {
	target, err := gatewayURL(opts.Gateway)
	if err != nil {
		return nil, err
	}
	if err := checkConnectToken(opts.Token); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext: d.DialContext,
		// HTTP/1.1 only: exec, attach, /grpc and /session switch protocols
		// on an HTTP/1.1 connection.
		TLSClientConfig:     &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	c := &Connector{target: target, token: opts.Token, tr: tr, logger: logger}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			// The connector's token is the only one the gateway sees.
			pr.Out.Header.Del("Token")
			pr.Out.Header.Set("Authorization", "Bearer "+c.token)
		},
		Transport:     tr,
		FlushInterval: -1, // logs -f, events and stats arrive as sent
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			logger.Warn("engine connect: forward failed", "method", r.Method, "path", r.URL.Path, "err", err)
			writeError(w, http.StatusBadGateway, fmt.Sprintf("engine connect: cannot reach the gateway at %s: %v", target.Host, err))
		},
	}
	c.srv = &http.Server{
		Handler:           rp,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return c, nil
}

func gatewayURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("the gateway's address is required (tcp://HOST:PORT)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("gateway address %q: %w", s, err)
	}
	switch u.Scheme {
	case "tcp", "https":
	default:
		return nil, fmt.Errorf("gateway address %q: want tcp://HOST:PORT or https://HOST:PORT (the gateway speaks TLS)", s)
	}
	if u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("gateway address %q: want tcp://HOST:PORT with nothing after the port", s)
	}
	return &url.URL{Scheme: "https", Host: u.Host}, nil
}

func checkConnectToken(tok string) error {
	if tok == "" {
		return errors.New("no token given")
	}
	if len(tok) > 512 {
		return errors.New("the token is longer than 512 bytes: is this the right file?")
	}
	for _, c := range tok {
		if c <= ' ' || c == 0x7f {
			return errors.New("the token contains spaces or control characters")
		}
	}
	return nil
}

// Ping asks the gateway for /_ping with the token and says what went wrong
// in words a user can act on.
func (c *Connector) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.target.String()+"/_ping", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := (&http.Client{Transport: c.tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("reach the gateway at %s: %w", c.target.Host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the gateway at %s answered %s: %s", c.target.Host, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// ListenUnix makes a unix socket at path that only the current user can
// open: whoever connects acts with the token. An existing socket file is
// replaced; any other file is left alone.
func ListenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("replace stale socket: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// The umask makes the socket 0600 from the start, with no window in
	// which another user could connect.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// Serve forwards the connections of ln until ctx ends, then stops
// accepting and gives open streams up to grace to finish.
func (c *Connector) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- c.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := c.srv.Shutdown(sctx); err != nil {
		_ = c.srv.Close()
	}
	c.tr.CloseIdleConnections()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
