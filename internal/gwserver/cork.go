package gwserver

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
)

// crypto/tls sends every record (up to 16 KiB) with its own write to the
// connection underneath: a 64 KiB piece of an image save or a download
// costs four or five system calls and TCP pushes, most of the gateway's
// CPU on a TLS stream. The fast server gathers the records of one large
// write and sends them with one.

// tlsListener is tls.NewListener whose connections can gather records.
type tlsListener struct {
	net.Listener
	config *tls.Config
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tls.Server(&corkConn{Conn: c}, l.config), nil
}

// corkConn is the connection under a TLS one. While corked, writes are
// gathered; uncork sends them. Every write holds mu, so that records
// written by another goroutine (an alert from a reading one) cannot pass
// the gathered ones.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    *[]byte // from gatherPool while corked
}

// gatherPool holds the buffers of writes being gathered: a connection
// keeps none between writes.
var gatherPool = sync.Pool{New: func() any { b := make([]byte, 0, maxGather+4<<10); return &b }}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.buf = gatherPool.Get().(*[]byte)
	c.mu.Unlock()
}

func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	var err error
	if len(*c.buf) > 0 {
		_, err = c.Conn.Write(*c.buf)
	}
	*c.buf = (*c.buf)[:0]
	gatherPool.Put(c.buf)
	c.buf = nil
	return err
}

// gatherTLS writes to a TLS connection over a corkConn, sending the
// records of one large write together.
type gatherTLS struct {
	tc *tls.Conn
	cc *corkConn
}

// maxRecord is the plaintext of one TLS record: a write this small is
// one record, with nothing to gather.
const maxRecord = 16 << 10

// maxGather is the most plaintext gathered into one write: larger writes
// go out in pieces, so that a connection never holds more than one piece
// and the first bytes leave without waiting for the whole write.
const maxGather = 64 << 10

func (w gatherTLS) Write(p []byte) (int, error) {
	if len(p) <= maxRecord {
		return w.tc.Write(p)
	}
	written := 0
	for len(p) > 0 {
		piece := p[:min(len(p), maxGather)]
		w.cc.cork()
		n, err := w.tc.Write(piece)
		if uerr := w.cc.uncork(); err == nil {
			err = uerr
		}
		written += n
		if err != nil {
			return written, err
		}
		p = p[len(piece):]
	}
	return written, nil
}

// connWriter is what the fast server writes answers to on c.
func connWriter(c net.Conn) io.Writer {
	if tc, ok := c.(*tls.Conn); ok {
		if cc, ok := tc.NetConn().(*corkConn); ok {
			return gatherTLS{tc: tc, cc: cc}
		}
	}
	return c
}
