package apigw

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"sync/atomic"
	"time"
)

// directTransport forwards body-less GET and HEAD requests to a plain
// HTTP/1.1 upstream on the handler's own goroutine: the request is
// written with Request.Write and the answer read with http.ReadResponse
// (net/http's own writer and parser) over a pooled keep-alive
// connection. http.Transport runs a reader and a writer goroutine per
// connection and hands every request and response between them and the
// caller; on a small machine those hand-offs and thread wake-ups cost
// more than the HTTP work. Everything else (bodies, upgrades, other
// methods) goes to the fallback http.Transport unchanged.
type directTransport struct {
	fallback *http.Transport
	// dial opens a connection to the upstream (TCP or unix socket).
	dial                  func(ctx context.Context) (net.Conn, error)
	responseHeaderTimeout time.Duration // 0: none
	idleTimeout           time.Duration
	maxIdle               int
	maxHeaderBytes        int64

	mu   sync.Mutex
	idle []*directConn // most recently used last
}

var _ http.RoundTripper = (*directTransport)(nil)

type directConn struct {
	conn     net.Conn
	lr       io.LimitedReader // bounds response headers; reads conn
	br       *bufio.Reader
	bw       *bufio.Writer
	idleFrom time.Time
}

// max1xx bounds the informational answers read before the final one,
// as http.Transport does.
const max1xx = 5

// errStaleConn marks a reused connection that failed before the upstream
// sent a byte: the upstream had closed it while idle.
var errStaleConn = errors.New("idle upstream connection closed")

// direct reports whether req can take the direct path: no body to send
// (so nothing is left half-written when the upstream answers early, and
// a retry resends nothing), no protocol switch, a method that may be
// retried on a fresh connection.
func direct(req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody || req.ContentLength != 0 || len(req.TransferEncoding) > 0 {
		return false
	}
	h := req.Header
	return len(h["Upgrade"]) == 0 && len(h["Expect"]) == 0 && len(h["Connection"]) == 0 && len(req.Trailer) == 0
}

func (t *directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !direct(req) {
		return t.fallback.RoundTrip(req)
	}
	return t.do(req.Context(), stdRequest{req}, req, !req.Close)
}

// outRequest is one request of the direct path: how its head is written
// (it has no body) and where informational answers go.
type outRequest interface {
	writeHead(bw *bufio.Writer) error
	got1xx(code int, h textproto.MIMEHeader) error
}

// stdRequest writes an *http.Request with net/http's own writer.
type stdRequest struct{ req *http.Request }

func (s stdRequest) writeHead(bw *bufio.Writer) error { return s.req.Write(bw) }

func (s stdRequest) got1xx(code int, h textproto.MIMEHeader) error {
	if trace := httptrace.ContextClientTrace(s.req.Context()); trace != nil && trace.Got1xxResponse != nil {
		return trace.Got1xxResponse(code, h)
	}
	return nil
}

// do sends out on a pooled connection (or a new one) and returns the
// answer; req gives ReadResponse the method. keep is false when the
// request asked for the connection to be closed after it.
func (t *directTransport) do(ctx context.Context, out outRequest, req *http.Request, keep bool) (*http.Response, error) {
	for fresh := false; ; fresh = true {
		pc, reused, err := t.get(ctx, fresh)
		if err != nil {
			return nil, err
		}
		resp, err := t.exchange(ctx, pc, out, req, keep)
		if err == nil {
			return resp, nil
		}
		pc.conn.Close()
		if reused && errors.Is(err, errStaleConn) && ctx.Err() == nil {
			// Its idle siblings are most likely closed too (the
			// upstream restarted or timed them out): drop them, and
			// retry once on a new connection.
			t.closeIdle()
			continue
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return nil, err
	}
}

// get takes the most recently used idle connection, or dials.
func (t *directTransport) get(ctx context.Context, fresh bool) (*directConn, bool, error) {
	if !fresh {
		now := time.Now()
		t.mu.Lock()
		for n := len(t.idle); n > 0; n = len(t.idle) {
			pc := t.idle[n-1]
			t.idle[n-1] = nil
			t.idle = t.idle[:n-1]
			t.mu.Unlock()
			if t.idleTimeout > 0 && now.Sub(pc.idleFrom) > t.idleTimeout || !idleConnOK(pc.conn) {
				pc.conn.Close()
				t.mu.Lock()
				continue
			}
			return pc, true, nil
		}
		t.mu.Unlock()
	}
	c, err := t.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	pc := &directConn{conn: c}
	pc.lr.R = c
	pc.lr.N = math.MaxInt64
	pc.br = bufio.NewReader(&pc.lr)
	pc.bw = bufio.NewWriter(c)
	return pc, false, nil
}

// put returns a connection whose answer was read to the end.
func (t *directTransport) put(pc *directConn) {
	pc.idleFrom = time.Now()
	t.mu.Lock()
	if len(t.idle) < t.maxIdle {
		t.idle = append(t.idle, pc)
		pc = nil
	}
	t.mu.Unlock()
	if pc != nil {
		pc.conn.Close()
	}
}

func (t *directTransport) closeIdle() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, pc := range idle {
		pc.conn.Close()
	}
}

// CloseIdleConnections closes the idle connections of both paths.
func (t *directTransport) CloseIdleConnections() {
	t.closeIdle()
	t.fallback.CloseIdleConnections()
}

// aLongTimeAgo is a deadline that makes blocked reads and writes return.
var aLongTimeAgo = time.Unix(1, 0)

// exchange writes out on pc and reads the answer's headers. The body
// hands pc back to the pool when read to the end.
func (t *directTransport) exchange(ctx context.Context, pc *directConn, out outRequest, req *http.Request, keep bool) (*http.Response, error) {
	// Always set: a deadline left by the previous answer's body must not
	// apply to this one.
	var headerDeadline time.Time
	if t.responseHeaderTimeout > 0 {
		headerDeadline = time.Now().Add(t.responseHeaderTimeout)
	}
	if err := pc.conn.SetReadDeadline(headerDeadline); err != nil {
		return nil, err
	}
	// A cancelled request (the client went away) unblocks any read or
	// write on the connection, which is then closed.
	var cancelMu sync.Mutex
	cancelled := false
	stop := context.AfterFunc(ctx, func() {
		cancelMu.Lock()
		cancelled = true
		cancelMu.Unlock()
		_ = pc.conn.SetDeadline(aLongTimeAgo)
	})
	fail := func(err error) (*http.Response, error) {
		stop()
		return nil, err
	}
	// Nothing has been read yet: a failed write on a reused connection
	// means the upstream had closed it.
	if err := out.writeHead(pc.bw); err != nil {
		return fail(errors.Join(errStaleConn, err))
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(errors.Join(errStaleConn, err))
	}
	pc.lr.N = t.maxHeaderBytes
	if _, err := pc.br.Peek(1); err != nil {
		if isTimeout(err) && !ctxDone(ctx) {
			return fail(fmt.Errorf("timeout awaiting response headers: %w", err))
		}
		return fail(errors.Join(errStaleConn, err))
	}
	var resp *http.Response
	for n := 0; ; n++ {
		var err error
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			if pc.lr.N <= 0 {
				err = fmt.Errorf("upstream response headers exceeded %d bytes", t.maxHeaderBytes)
			} else if isTimeout(err) && !ctxDone(ctx) {
				err = fmt.Errorf("timeout awaiting response headers: %w", err)
			}
			return fail(err)
		}
		code := resp.StatusCode
		if code < 100 || code > 199 {
			break
		}
		if code == http.StatusSwitchingProtocols {
			resp.Body.Close()
			return fail(errors.New("upstream switched protocols without an Upgrade request"))
		}
		if n >= max1xx {
			return fail(errors.New("upstream sent too many 1xx responses"))
		}
		if err := out.got1xx(code, textproto.MIMEHeader(resp.Header)); err != nil {
			return fail(err)
		}
		pc.lr.N = t.maxHeaderBytes
	}
	pc.lr.N = math.MaxInt64
	// Headers are in: the body has no deadline (downloads and streams
	// last as long as they last) but stays cancellable.
	cancelMu.Lock()
	if !cancelled {
		_ = pc.conn.SetReadDeadline(time.Time{})
	}
	cancelMu.Unlock()
	b := &directBody{rc: resp.Body, t: t, pc: pc, stop: stop, keep: !resp.Close && keep}
	if resp.Body == http.NoBody {
		b.release(nil)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func ctxDone(ctx context.Context) bool { return ctx.Err() != nil }

// directBody gives the connection back to the pool once the body is read
// to its end, and closes it if the body is closed early or fails.
type directBody struct {
	rc     io.ReadCloser
	t      *directTransport
	pc     *directConn
	stop   func() bool
	keep   bool
	done   atomic.Bool
	closed atomic.Bool
	err    error // the failure Read met, touched only by the reader
}

var errBodyClosed = errors.New("read on closed response body")

func (b *directBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errBodyClosed
	}
	if b.done.Load() {
		if b.err != nil {
			return 0, b.err // a body cut short stays so
		}
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err != nil {
		if err != io.EOF {
			b.err = err
		}
		b.release(err)
	}
	return n, err
}

// Close before the end closes the connection (which also ends a Read
// blocked on another goroutine) rather than draining an endless stream.
func (b *directBody) Close() error {
	b.closed.Store(true)
	b.release(errBodyClosed)
	return nil
}

// release ends the exchange: err nil or io.EOF means the body was read
// to its end, and the connection may serve again.
func (b *directBody) release(err error) {
	if b.done.Swap(true) {
		return
	}
	notCancelled := b.stop()
	if (err == nil || err == io.EOF) && b.keep && notCancelled && b.pc.br.Buffered() == 0 {
		b.t.put(b.pc)
		return
	}
	b.pc.conn.Close()
}
