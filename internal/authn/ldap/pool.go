package ldap

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/portcullis/portcullis/internal/authn"
)

// Connections are pooled. With a service account there are two pools:
// searches run on connections bound as the service account, and user binds
// on connections of their own, so a login costs one bind (the user's) and a
// search connection never carries a user's identity. Without a service
// account one pool serves both and a login reads the directory as the user
// who just bound. Every connection records whom it is bound as, and
// bindService re-binds only when needed. Pooling keeps one TLS handshake
// per connection instead of one per login. A connection whose bind or any
// operation fails at the network level is closed, never put back.

// bindState is who a connection is bound as.
type bindState int

const (
	boundNone bindState = iota
	boundService
	boundUser
)

// conn is one pooled directory connection.
type conn struct {
	l      *ldap.Conn
	server string
	state  bindState
	// reused reports that the connection came from the idle pool: it may
	// have died while idle (server restart), so a network failure on it is
	// retried once on a fresh connection.
	reused bool
	broken atomic.Bool
}

func (c *conn) close() { _ = c.l.Close() }

// pool bounds open connections to size: a lease takes a slot, then an idle
// connection or a new one; a returned connection goes back to the idle set
// unless it is broken.
type pool struct {
	slots chan struct{}
	idle  chan *conn
	dial  func(context.Context) (*conn, error)
	// wait bounds the wait for a free slot (0: the caller's context only).
	wait time.Duration

	mu     sync.Mutex
	closed bool
}

func newPool(size int, wait time.Duration, dial func(context.Context) (*conn, error)) *pool {
	return &pool{slots: make(chan struct{}, size), idle: make(chan *conn, size), dial: dial, wait: wait}
}

func (p *pool) get(ctx context.Context) (*conn, error) { return p.lease(ctx, false) }

// lease takes a slot, then an idle connection unless fresh, else a new
// one.
func (p *pool) lease(ctx context.Context, fresh bool) (*conn, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		var expired <-chan time.Time
		if p.wait > 0 {
			t := time.NewTimer(p.wait)
			defer t.Stop()
			expired = t.C
		}
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: waiting for an LDAP connection: %w", authn.ErrBackend, ctx.Err())
		case <-expired:
			return nil, fmt.Errorf("%w: no LDAP connection free within %s (all %d in use: the directory is slow or pool_size too small)", authn.ErrBackend, p.wait, cap(p.slots))
		}
	}
	for !fresh {
		select {
		case c := <-p.idle:
			if c.l.IsClosing() {
				c.close()
				continue
			}
			c.reused = true
			return c, nil
		default:
		}
		break
	}
	c, err := p.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

func (p *pool) put(c *conn) {
	defer func() { <-p.slots }()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed || c.broken.Load() || c.l.IsClosing() {
		c.close()
		return
	}
	c.reused = false
	select {
	case p.idle <- c:
	default:
		c.close()
	}
}

func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			c.close()
		default:
			return
		}
	}
}

// settledError is a failure that fn reports about something other than
// its own connection (a user bind on another pool's connection): withConn
// returns it as it is and keeps the connection.
type settledError struct{ err error }

func (e *settledError) Error() string { return e.err.Error() }
func (e *settledError) Unwrap() error { return e.err }

// withConn runs fn on a connection of p. fn must be safe to run twice:
// when it fails at the network level on a connection that sat idle, it is
// run once more on a newly made connection (never another idle one, which
// may have died the same way), so that the first request after a
// directory restart or a silent drop of idle connections succeeds. A
// cancelled ctx closes the connection, which ends any operation in flight.
func (b *Backend) withConn(ctx context.Context, p *pool, fn func(*conn) error) error {
	for attempt := 0; ; attempt++ {
		c, err := p.lease(ctx, attempt > 0)
		if err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { c.broken.Store(true); c.close() })
		err = fn(c)
		if !stop() {
			c.broken.Store(true)
		}
		var settled *settledError
		if errors.As(err, &settled) {
			p.put(c)
			return settled.err
		}
		if err != nil && isConnError(err) {
			c.broken.Store(true)
		}
		reused := c.reused
		p.put(c)
		if err == nil || !isConnError(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %s: %w", authn.ErrBackend, c.server, ctx.Err())
		}
		if !reused || attempt > 0 {
			b.logger.WarnContext(ctx, "ldap request failed", "authenticator", b.name, "server", c.server, "err", err)
			return fmt.Errorf("%w: %s: %w", authn.ErrBackend, c.server, err)
		}
		b.logger.DebugContext(ctx, "ldap pooled connection dead; retrying on a new one", "authenticator", b.name, "server", c.server, "err", err)
	}
}

// bindService makes c bound as the service account (if one is configured
// and it is not already).
func (b *Backend) bindService(c *conn) error {
	if b.cfg.BindDN == "" || c.state == boundService {
		return nil
	}
	c.l.SetTimeout(b.cfg.BindTimeout)
	c.state = boundNone
	b.counters.serviceBinds.Add(1)
	if err := c.l.Bind(b.cfg.BindDN, b.bindPassword); err != nil {
		c.broken.Store(true)
		return err
	}
	c.state = boundService
	return nil
}
