package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/portcullis/portcullis/internal/authn"
)

// server is one configured directory URL.
type server struct {
	url  string // as configured, for logs
	addr string // host:port
	tls  bool   // ldaps://
	conf *tls.Config
}

func parseServers(urls []string, startTLS bool, base *tls.Config) ([]server, error) {
	out := make([]server, 0, len(urls))
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("url %q: %w", raw, err)
		}
		s := server{url: raw}
		port := u.Port()
		switch u.Scheme {
		case "ldaps":
			s.tls = true
			if port == "" {
				port = "636"
			}
		case "ldap":
			if port == "" {
				port = "389"
			}
		default:
			return nil, fmt.Errorf("url %q: scheme must be ldap or ldaps", raw)
		}
		s.addr = net.JoinHostPort(u.Hostname(), port)
		if s.tls || startTLS {
			s.conf = base.Clone()
			if s.conf.ServerName == "" {
				s.conf.ServerName = u.Hostname()
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// baseTLS builds the TLS settings shared by every server.
func baseTLS(caFile, serverName string, insecure bool) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName, InsecureSkipVerify: insecure} //nolint:gosec // insecure only when configured, with a warning
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", caFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// dialService connects for searches: bound as the service account when
// there is one.
func (b *Backend) dialService(ctx context.Context) (*conn, error) { return b.dial(ctx, true) }

// dialForBind connects for user binds only: no service bind.
func (b *Backend) dialForBind(ctx context.Context) (*conn, error) { return b.dial(ctx, false) }

// dial connects to the first server that answers, in configured order,
// and binds as the service account when asked and there is one. A server
// that cannot be reached is logged and the next one tried; a service
// account the directory refuses stops at once (every server would refuse
// it).
func (b *Backend) dial(ctx context.Context, service bool) (*conn, error) {
	var errs []error
	for _, s := range b.servers {
		l, err := b.dialOne(ctx, s)
		if err != nil {
			b.logger.WarnContext(ctx, "ldap server unreachable", "authenticator", b.name, "server", s.url, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", s.url, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		b.counters.dials.Add(1)
		c := &conn{l: l, server: s.url}
		if service && b.cfg.BindDN != "" {
			if err := b.bindService(c); err != nil {
				c.close()
				if isConnError(err) {
					b.logger.WarnContext(ctx, "ldap server failed during service bind", "authenticator", b.name, "server", s.url, "err", err)
					errs = append(errs, fmt.Errorf("%s: %w", s.url, err))
					continue
				}
				b.counters.dialFailures.Add(1)
				b.logger.ErrorContext(ctx, "ldap service account bind refused", "authenticator", b.name, "server", s.url, "bind_dn", b.cfg.BindDN, "err", err)
				return nil, fmt.Errorf("%w: service account bind on %s: %w", authn.ErrBackend, s.url, err)
			}
		}
		return c, nil
	}
	b.counters.dialFailures.Add(1)
	return nil, fmt.Errorf("%w: no LDAP server reachable: %w", authn.ErrBackend, errors.Join(errs...))
}

// dialOne makes one connection, TLS from the start (ldaps://) or upgraded
// with StartTLS, all within dial_timeout.
func (b *Backend) dialOne(ctx context.Context, s server) (*ldap.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.DialTimeout)
	defer cancel()
	d := &net.Dialer{Timeout: b.cfg.DialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, err
	}
	if s.tls {
		tc := tls.Client(nc, s.conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		nc = tc
	}
	l := ldap.NewConn(nc, s.tls)
	l.Start()
	if b.cfg.StartTLS && !s.tls {
		// StartTLS waits for the server without a timeout of its own: the
		// deadline on the socket bounds it.
		deadline, _ := ctx.Deadline()
		_ = nc.SetDeadline(deadline)
		err := l.StartTLS(s.conf)
		_ = nc.SetDeadline(time.Time{})
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
	}
	return l, nil
}

// isConnError reports whether err means the connection (not the request)
// failed: the connection must be dropped and the operation may be tried
// again on another one.
func isConnError(err error) bool {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return true
	}
	switch le.ResultCode {
	case ldap.ErrorNetwork, ldap.LDAPResultServerDown, ldap.LDAPResultConnectError,
		ldap.LDAPResultTimeout, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable:
		return true
	}
	return false
}
