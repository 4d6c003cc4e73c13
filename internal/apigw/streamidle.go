package apigw

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"
)

// Streams (downloads, uploads, event streams, websockets) have no overall
// deadline, but each side must move a byte within stream_idle_timeout:
// a client that stops reading, an upstream that stalls mid-body or an
// upload that stops would otherwise hold a connection (and a goroutine)
// for good. Each read and write pushes its side's deadline forward.

// idleConn pushes its read and write deadlines forward on every read and
// write (upstream connections of http.Transport, hijacked connections).
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(p)
}

// CloseWrite keeps half-close working through the wrapper (websockets).
func (c *idleConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// idleBody pushes the client connection's read deadline forward on every
// read of a request body, and lifts it at the end of the body (net/http
// then watches the connection with a read of its own, which must not time
// out while the upstream works).
type idleBody struct {
	io.ReadCloser
	ctl  *http.ResponseController
	idle time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	_ = b.ctl.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		_ = b.ctl.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *idleBody) Close() error {
	_ = b.ctl.SetReadDeadline(time.Time{})
	return b.ReadCloser.Close()
}

// Hijack hands out the client connection of an upgrade (websocket) with
// the same per-read and per-write deadlines.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err != nil || r.idle <= 0 {
		return c, brw, err
	}
	_ = c.SetDeadline(time.Time{})
	return &idleConn{Conn: c, idle: r.idle}, brw, nil
}

var _ http.Hijacker = (*recorder)(nil)
