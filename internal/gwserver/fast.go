package gwserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fastServer reads a gateway's plain requests itself instead of through
// net/http: a GET or HEAD with nothing unusual about it (see parseHead),
// which is what API clients and the docker CLI send all day. net/http's
// server spends more per request than the whole rest of a gateway
// (request parsing into maps, a background read goroutine started for
// every request, response bookkeeping). Everything else, and every
// request of a connection after one that is not plain, goes to net/http:
// the connection is handed over with the bytes already read, so net/http
// sees exactly what the client sent and answers as it always does. The
// handler is the same: only the parsing of the request and the framing of
// the answer are done here, and the gateways' tests send the same bytes
// to both servers and compare what the upstream and the client see.
//
// A client that goes away is noticed as net/http notices it, by a read on
// the connection while the handler runs, which cancels the request's
// context (that ends a silent stream such as `docker logs -f` or an event
// stream). The read starts only once a request has run for watchAfter:
// most requests are answered sooner, and the read, its wake-up and its
// cancellation cost as much as the rest of such a request.
type fastServer struct {
	h      http.Handler
	logger *slog.Logger
	base   context.Context
	hand   *handoff
	// Timeouts as the net/http server has them.
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
	watchAfter        time.Duration

	mu      sync.Mutex
	conns   map[*fastConn]struct{}
	closing atomic.Bool // set under mu, read without it on every request
	wg      sync.WaitGroup
}

// fastHeadMax bounds the head the fast server reads; a longer one goes to
// net/http, which allows 64 KiB.
const fastHeadMax = 4 << 10

type fastConn struct {
	c      net.Conn
	idle   atomic.Bool
	remote string
	tls    *tls.ConnectionState

	// The watch for the client going away (see fastServer).
	wmu     sync.Mutex
	wstate  int // watchOff, watchArmed or watchReading
	wcancel context.CancelFunc
	wdone   chan struct{}
	wtimer  *time.Timer
	// held is the connection's buffer for the start of a body (see
	// fastResponse.Write).
	held []byte
	// pending is what the watching reads got: what the client sent next,
	// read before the request in progress was answered. Only the
	// serving goroutine touches it, and only while no read watches.
	pending []byte
}

const (
	watchOff = iota
	watchArmed
	watchReading
)

// Read serves the bytes a watching read took before the connection's.
func (fc *fastConn) Read(p []byte) (int, error) {
	if len(fc.pending) > 0 {
		n := copy(p, fc.pending)
		fc.pending = fc.pending[n:]
		return n, nil
	}
	return fc.c.Read(p)
}

// arm starts the watch after d. It watches even when the client already
// sent more (a pipelined request), as net/http does: a client that then
// goes away must still be noticed. What the watch reads follows what the
// reader above the connection holds, so its order is kept.
func (fc *fastConn) arm(d time.Duration, cancel context.CancelFunc) {
	if d <= 0 {
		return
	}
	fc.wmu.Lock()
	fc.wstate, fc.wcancel = watchArmed, cancel
	fc.wmu.Unlock()
	if fc.wtimer == nil {
		fc.wtimer = time.AfterFunc(d, fc.watch)
	} else {
		fc.wtimer.Reset(d)
	}
}

// watch reads one byte while the handler runs: an error other than the
// deadline disarm sets means the client is gone; a byte is kept for the
// next request.
func (fc *fastConn) watch() {
	fc.wmu.Lock()
	if fc.wstate != watchArmed {
		fc.wmu.Unlock()
		return
	}
	// Cleared under the lock, so that disarm's deadline, set after it
	// sees watchReading, is the one that holds.
	if err := fc.c.SetReadDeadline(time.Time{}); err != nil {
		// The connection is closed (shutdown cut it): no answer can
		// reach the client.
		fc.wcancel()
		fc.wmu.Unlock()
		return
	}
	done := make(chan struct{})
	fc.wstate, fc.wdone = watchReading, done
	cancel := fc.wcancel
	fc.wmu.Unlock()
	defer close(done)
	var b [1]byte
	n, err := fc.c.Read(b[:])
	if n > 0 {
		fc.pending = append(fc.pending, b[0])
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		cancel()
	}
}

// disarm ends the watch and waits for its read, so that the connection is
// the serving goroutine's alone again.
func (fc *fastConn) disarm() {
	fc.wmu.Lock()
	st, done := fc.wstate, fc.wdone
	fc.wstate, fc.wcancel, fc.wdone = watchOff, nil, nil
	fc.wmu.Unlock()
	switch st {
	case watchArmed:
		fc.wtimer.Stop()
	case watchReading:
		_ = fc.c.SetReadDeadline(aLongTimeAgo)
		<-done
		_ = fc.c.SetReadDeadline(time.Time{})
	}
}

// serve runs the accept loop on ln until it fails (it is closed).
func (s *fastServer) serve(ln net.Listener) error {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			// Temporary, as net/http: EMFILE and ENFILE are not
			// timeouts.
			if ne, ok := err.(interface{ Temporary() bool }); ok && ne.Temporary() {
				// Out of file descriptors and the like: back off as
				// net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		fc := &fastConn{c: c, remote: c.RemoteAddr().String()}
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[fc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(fc)
	}
}

// shutdown closes idle connections now and waits for the others to finish
// their request, until ctx ends; then it closes them too.
func (s *fastServer) shutdown(done <-chan struct{}) {
	s.mu.Lock()
	s.closing.Store(true)
	for fc := range s.conns {
		if fc.idle.Load() {
			_ = fc.c.SetReadDeadline(aLongTimeAgo)
		}
	}
	s.mu.Unlock()
	finished := make(chan struct{})
	go func() { s.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-done:
		s.mu.Lock()
		for fc := range s.conns {
			fc.c.Close()
		}
		s.mu.Unlock()
		<-finished
	}
}

func (s *fastServer) forget(fc *fastConn) {
	s.mu.Lock()
	delete(s.conns, fc)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *fastServer) isClosing() bool { return s.closing.Load() }

func (s *fastServer) serveConn(fc *fastConn) {
	defer s.forget(fc)
	c := fc.c
	br := bufio.NewReaderSize(fc, fastHeadMax)
	bw := bufio.NewWriterSize(connWriter(c), 4<<10)
	handed := false
	defer func() {
		if !handed {
			c.Close()
		}
	}()
	for first := true; ; first = false {
		// Waiting for a request: the header timeout for the first one,
		// the idle timeout between requests. The deadline is set before
		// the closing check, so that shutdown (which sets it in the past
		// for idle connections after it marks closing) always wins.
		fc.idle.Store(true)
		wait := s.idleTimeout
		if first {
			wait = s.readHeaderTimeout
		}
		if wait > 0 {
			_ = c.SetReadDeadline(time.Now().Add(wait))
		}
		if s.isClosing() {
			return
		}
		// As net/http: a later request must bring 4 bytes before the
		// connection's end, or the connection ends without an answer.
		want := 4
		if first {
			want = 1
		}
		if _, err := br.Peek(want); err != nil {
			return
		}
		fc.idle.Store(false)
		if buf, _ := br.Peek(br.Buffered()); s.readHeaderTimeout > 0 && !bytes.Contains(buf, []byte("\r\n\r\n")) {
			// The head is still coming.
			_ = c.SetReadDeadline(time.Now().Add(s.readHeaderTimeout))
		}
		n, err := headLen(br)
		if err != nil {
			if errors.Is(err, errNotFast) {
				handed = s.handOver(fc, br)
			}
			return
		}
		if first {
			if tc, ok := c.(*tls.Conn); ok {
				cs := tc.ConnectionState()
				fc.tls = &cs
			}
		}
		head, _ := br.Peek(n)
		r, keepAlive, ok := parseHead(head)
		if !ok {
			handed = s.handOver(fc, br)
			return
		}
		_, _ = br.Discard(n)
		// The read deadline stays as it is while the handler runs: only
		// the watch reads, and it clears the deadline first.
		r.RemoteAddr, r.TLS = fc.remote, fc.tls
		if !s.serveOne(fc, bw, r, keepAlive) {
			return
		}
	}
}

// serveOne answers one request; it reports whether the connection may
// carry another.
func (s *fastServer) serveOne(fc *fastConn, bw *bufio.Writer, r *http.Request, keepAlive bool) (keep bool) {
	ctx, cancel := context.WithCancel(s.base)
	r = r.WithContext(ctx)
	w := &fastResponse{conn: fc.c, bw: bw, req: r, header: make(http.Header, 8), keepAlive: keepAlive, held: fc.held[:0]}
	fc.arm(s.watchAfter, cancel)
	defer func() {
		fc.disarm()
		cancel()
		fc.held = w.held[:0] // made on first use, then kept
		if p := recover(); p != nil {
			keep = false
			if p != http.ErrAbortHandler {
				s.logger.Error("panic serving a request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			}
		}
	}()
	s.h.ServeHTTP(w, r)
	fc.disarm()
	if err := w.finish(); err != nil {
		return false
	}
	return w.keepAlive
}

// handOver gives the connection, with what was read of it and not
// consumed, to net/http.
func (s *fastServer) handOver(fc *fastConn, br *bufio.Reader) bool {
	buffered, _ := br.Peek(br.Buffered())
	prefix := append(bytes.Clone(buffered), fc.pending...)
	pc := &prefixConn{Conn: fc.c, prefix: prefix}
	if tc, ok := fc.c.(*tls.Conn); ok {
		pc.tls = tc
	}
	_ = fc.c.SetReadDeadline(time.Time{})
	return s.hand.give(pc)
}

var errNotFast = errors.New("not for the fast server")

// headLen reads until the head's blank line is buffered and returns the
// head's length. A head longer than the buffer, or with a bare LF (which
// net/http accepts and this parser does not), is errNotFast.
func headLen(br *bufio.Reader) (int, error) {
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			return i + 4, nil
		}
		if i := bytes.Index(buf, []byte("\n\n")); i >= 0 {
			return 0, errNotFast
		}
		if len(buf) >= fastHeadMax {
			return 0, errNotFast
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			if len(buf) > 0 && (errors.Is(err, bufio.ErrBufferFull) || err == io.EOF) {
				// Too long, or cut short: net/http's answer (a 400 for a
				// head cut short) is the one to give.
				return 0, errNotFast
			}
			return 0, err
		}
	}
}

// parseHead reads a plain request head: "GET" or "HEAD", an origin-form
// target, HTTP/1.1 or HTTP/1.0, CRLF line ends, header names that are
// tokens, values without control characters, one Host (for HTTP/1.1),
// at most one Authorization, and none of the headers that frame a body,
// change the protocol or name other headers (Content-Length,
// Transfer-Encoding, Upgrade, Expect, TE, Trailer, a Connection other than
// close or keep-alive). Anything else is not plain (ok false): net/http
// takes it, and whatever it does (accept, refuse, 400) stays its call. The
// Request it returns is what net/http would build for the same head, as
// far as the gateway's handler looks at it.
func parseHead(head []byte) (r *http.Request, keepAlive, ok bool) {
	s := string(head[:len(head)-4]) // one copy: the header values keep it
	line, rest, _ := strings.Cut(s, "\r\n")
	method, line, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 || method != http.MethodGet && method != http.MethodHead {
		return nil, false, false
	}
	var minor int
	switch proto {
	case "HTTP/1.1":
		minor = 1
	case "HTTP/1.0":
	default:
		return nil, false, false
	}
	if target == "" || target[0] != '/' {
		return nil, false, false
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return nil, false, false
		}
	}
	u, err := url.ParseRequestURI(target)
	if err != nil || !CleanPath(u.Path) || !PlainQuery(u.RawQuery) {
		return nil, false, false
	}
	h := make(http.Header, 8)
	var host string
	hosts, auths := 0, 0
	closeAsked, keepAsked := false, false
	for rest != "" {
		var l string
		l, rest, _ = strings.Cut(rest, "\r\n")
		name, value, found := strings.Cut(l, ":")
		if !found || !isToken(name) {
			return nil, false, false
		}
		value = strings.Trim(value, " \t")
		if !plainValue(value) {
			return nil, false, false
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		switch key {
		case "Host":
			hosts++
			host = value
			continue
		case "Content-Length", "Transfer-Encoding", "Upgrade", "Expect", "Te", "Trailer", "Http2-Settings":
			return nil, false, false
		case "Connection":
			for t := range strings.SplitSeq(value, ",") {
				switch t = strings.Trim(t, " \t"); {
				case strings.EqualFold(t, "close"):
					closeAsked = true
				case strings.EqualFold(t, "keep-alive"):
					keepAsked = true
				case t == "":
				default:
					return nil, false, false
				}
			}
			continue
		case "Authorization":
			auths++
		}
		h[key] = append(h[key], value)
	}
	if hosts > 1 || hosts == 0 && minor == 1 || auths > 1 || !plainHost(host) {
		return nil, false, false
	}
	keepAlive = !closeAsked && (minor == 1 || keepAsked)
	r = &http.Request{
		Method: method, URL: u, Proto: proto, ProtoMajor: 1, ProtoMinor: minor,
		Header: h, Host: host, RequestURI: target, Body: http.NoBody, Close: !keepAlive,
	}
	return r, keepAlive, true
}

// isToken reports whether s is an RFC 9110 token (a header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// plainValue reports whether a header value has no control characters
// but tab, and no DEL.
func plainValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// plainHost accepts the Host values net/http surely accepts: a name or
// address with an optional port, from a conservative set of characters.
func plainHost(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-:[]_", c) >= 0) {
			return false
		}
	}
	return true
}

// fastResponse is the ResponseWriter of the fast server. It frames the
// answer as net/http's server would: the handler's Content-Length when
// set, chunked otherwise (HTTP/1.1; HTTP/1.0 gets the body until the
// connection closes), no body for HEAD, 1xx, 204 and 304, a Date header,
// the content type sniffed from the first bytes when none is set,
// Connection: close or keep-alive as needed, trailers after a chunked
// body.
type fastResponse struct {
	conn      net.Conn
	bw        *bufio.Writer
	req       *http.Request
	header    http.Header
	keepAlive bool

	wroteHeader bool
	status      int
	bodyOK      bool  // the status and method allow a body
	chunked     bool  // chunked framing
	length      int64 // declared Content-Length, -1 if none
	written     int64
	trailers    []string // declared in the Trailer header
	held        []byte   // the start of the body, not sent yet (see Write)
	sent        bool     // the status line and headers are out
	finished    bool     // finish ran
	err         error
}

// Complete sends the whole answer now, before the handler returns (see
// Completer).
func (w *fastResponse) Complete() { _ = w.finish() }

// Completer is the fast server's ResponseWriter: a handler that has
// written its answer can send it at once and then do its bookkeeping
// (audit line, metrics) off the client's latency.
type Completer interface{ Complete() }

var _ Completer = (*fastResponse)(nil)

var _ http.Flusher = (*fastResponse)(nil)

func (w *fastResponse) Header() http.Header { return w.header }

// SetWriteDeadline lets http.ResponseController bound writes to the
// client (stream_idle_timeout).
func (w *fastResponse) SetWriteDeadline(t time.Time) error { return w.conn.SetWriteDeadline(t) }

func (w *fastResponse) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// An informational answer goes out now; the final one follows.
		w.writeStatusLine(code)
		w.writeHeaderFields(w.header)
		w.bw.WriteString("\r\n")
		w.fail(w.bw.Flush())
		return
	}
	w.status = code
	w.wroteHeader = true
}

// Write sends the headers with the first bytes of the body. Without a
// declared length, the first bodyHold bytes are held: if the handler
// ends before writing more, the answer gets a Content-Length instead of
// chunks, as from net/http.
func (w *fastResponse) Write(p []byte) (int, error) {
	if w.finished {
		// The answer is complete on the wire: more bytes would be read
		// as the start of the next answer.
		return 0, errAnswerComplete
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.sent {
		if w.holds() && len(w.held)+len(p) <= bodyHold {
			if w.held == nil {
				w.held = make([]byte, 0, bodyHold)
			}
			w.held = append(w.held, p...)
			return len(p), nil
		}
		if err := w.sendHeld(p); err != nil {
			return 0, err
		}
	}
	return w.writeBody(p)
}

var errAnswerComplete = errors.New("gwserver: write after the answer was completed")

// bodyHold is net/http's bufferBeforeChunkingSize.
const bodyHold = 2048

// sniffLen is what http.DetectContentType looks at.
const sniffLen = 512

// holds reports whether the start of the body is held back: the status
// allows a body (a HEAD answer's is counted, not sent), and neither a
// length nor trailers were declared.
func (w *fastResponse) holds() bool {
	return bodyAllowed(w.status) && len(w.header["Content-Length"]) == 0 && len(w.header["Trailer"]) == 0
}

func bodyAllowed(code int) bool {
	return code != http.StatusNoContent && code != http.StatusNotModified && (code < 100 || code > 199)
}

// sendHeld sends the headers and the body held so far; next is what is
// about to be written, sniffed for a Content-Type when nothing is held.
func (w *fastResponse) sendHeld(next []byte) error {
	sniff := w.held
	if len(sniff) == 0 {
		sniff = next
	} else if len(sniff) < sniffLen && len(next) > 0 {
		// net/http sniffs its buffer, filled from next: the first
		// sniffLen bytes of the body, not only those held.
		sniff = append(sniff[:len(sniff):len(sniff)], next[:min(len(next), sniffLen-len(sniff))]...)
	}
	w.sendHeader(sniff)
	if len(w.held) > 0 && w.err == nil {
		if _, err := w.writeBody(w.held); err != nil {
			return err
		}
	}
	w.held = w.held[:0]
	return w.err
}

// writeBody writes p after the headers.
func (w *fastResponse) writeBody(p []byte) (int, error) {
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.bodyOK {
		return len(p), nil // a HEAD answer: counted, not sent, as net/http does
	}
	if w.chunked {
		if len(p) == 0 {
			return 0, nil
		}
		w.bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		w.bw.WriteString("\r\n")
		w.bw.Write(p)
		_, err := w.bw.WriteString("\r\n")
		w.fail(err)
		return len(p), w.err
	}
	n, err := w.bw.Write(p)
	w.fail(err)
	return n, w.err
}

// Flush sends what is buffered, the headers first if not sent yet.
func (w *fastResponse) Flush() {
	if w.finished {
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent {
		_ = w.sendHeld(nil)
	}
	w.fail(w.bw.Flush())
}

func (w *fastResponse) fail(err error) {
	if err != nil && w.err == nil {
		w.err = err
		w.keepAlive = false
	}
}

// finish completes the answer after the handler returned.
func (w *fastResponse) finish() error {
	if w.finished {
		return w.err
	}
	w.finished = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent {
		if w.holds() && (w.req.Method != http.MethodHead || len(w.held) > 0) {
			// The whole body is held: its length is known. (A HEAD
			// handler that wrote nothing may not know it.)
			w.header["Content-Length"] = []string{strconv.Itoa(len(w.held))}
		}
		_ = w.sendHeld(nil)
	}
	if w.err != nil {
		return w.err
	}
	if w.bodyOK && w.length >= 0 && w.written != w.length {
		// The handler wrote less than it declared: the client would wait
		// for the rest, so the connection must end.
		w.keepAlive = false
	}
	if w.chunked {
		w.bw.WriteString("0\r\n")
		w.writeTrailers()
		w.bw.WriteString("\r\n")
	}
	w.fail(w.bw.Flush())
	return w.err
}

// writeStatusLine answers in the request's version, as net/http does.
func (w *fastResponse) writeStatusLine(code int) {
	if w.req.ProtoMinor >= 1 {
		w.bw.WriteString("HTTP/1.1 ")
	} else {
		w.bw.WriteString("HTTP/1.0 ")
	}
	w.bw.WriteString(strconv.Itoa(code))
	w.bw.WriteByte(' ')
	if text := http.StatusText(code); text != "" {
		w.bw.WriteString(text)
	} else {
		w.bw.WriteString("status code ")
		w.bw.WriteString(strconv.Itoa(code))
	}
	w.bw.WriteString("\r\n")
}

// sendHeader writes the status line and the headers, deciding the
// framing; p is the first part of the body (for sniffing), if any.
func (w *fastResponse) sendHeader(p []byte) {
	w.sent = true
	h := w.header
	code := w.status
	isHead := w.req.Method == http.MethodHead
	allowed := code != http.StatusNoContent && code != http.StatusNotModified && (code < 100 || code > 199)
	w.bodyOK = allowed && !isHead
	w.length = -1
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.length = n
		} else {
			delete(h, "Content-Length")
		}
	}
	delete(h, "Transfer-Encoding")
	if !allowed {
		// As net/http: no framing headers without a body, and no
		// Content-Type on a 304 (RFC 9110 15.4.5).
		delete(h, "Content-Length")
		if code == http.StatusNotModified {
			delete(h, "Content-Type")
		}
		w.length = -1
	}
	switch {
	case !w.bodyOK:
	case w.length >= 0:
	case w.req.ProtoMinor >= 1:
		w.chunked = true
	default:
		w.keepAlive = false // HTTP/1.0: the end of the body is the end of the connection
	}
	if allowed && len(p) > 0 && len(h["Content-Type"]) == 0 && h.Get("Content-Encoding") == "" {
		h.Set("Content-Type", http.DetectContentType(p))
	}
	if w.chunked {
		for _, v := range h["Trailer"] {
			for k := range strings.SplitSeq(v, ",") {
				if k = textproto.TrimString(k); k != "" {
					w.trailers = append(w.trailers, http.CanonicalHeaderKey(k))
				}
			}
		}
	} else {
		delete(h, "Trailer")
	}
	if HasToken(h["Connection"], "close") {
		w.keepAlive = false
	}
	delete(h, "Connection")
	w.writeStatusLine(code)
	w.writeHeaderFields(h)
	if _, ok := h["Date"]; !ok {
		w.bw.WriteString("Date: ")
		w.bw.WriteString(httpDate())
		w.bw.WriteString("\r\n")
	}
	switch {
	case !w.keepAlive && w.req.ProtoMinor >= 1:
		w.bw.WriteString("Connection: close\r\n")
	case w.keepAlive && w.req.ProtoMinor == 0:
		w.bw.WriteString("Connection: keep-alive\r\n")
	}
	if w.chunked {
		w.bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	_, err := w.bw.WriteString("\r\n")
	w.fail(err)
}

// dateCache holds the Date header of the current second.
var dateCache atomic.Pointer[cachedDate]

type cachedDate struct {
	sec int64
	s   string
}

func httpDate() string {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &cachedDate{sec: now.Unix(), s: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}

// writeHeaderFields writes h as net/http does: valid names only, values
// with CR and LF turned to spaces; trailer keys (TrailerPrefix) are left
// for after the body.
func (w *fastResponse) writeHeaderFields(h http.Header) {
	for k, vv := range h {
		if !isToken(k) {
			continue
		}
		for _, v := range vv {
			WriteHeaderLine(w.bw, k, v)
		}
	}
}

func (w *fastResponse) writeTrailers() {
	h := w.header
	for _, k := range w.trailers {
		for _, v := range h[k] {
			WriteHeaderLine(w.bw, k, v)
		}
	}
	for k, vv := range h {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && isToken(name) {
			for _, v := range vv {
				WriteHeaderLine(w.bw, name, v)
			}
		}
	}
}

// handoff is the listener net/http serves: connections the fast server
// passes on.
type handoff struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoff(addr net.Addr) *handoff {
	return &handoff{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoff) Addr() net.Addr { return h.addr }

// give passes c to net/http; false (and c closed) once it stopped.
func (h *handoff) give(c net.Conn) bool {
	select {
	case h.conns <- c:
		return true
	case <-h.done:
		c.Close()
		return false
	}
}

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	prefix []byte
	tls    *tls.Conn // the TLS connection underneath, if any
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the connection underneath: a hijacked
// connection (exec, attach) passes the end of the upstream's output on as
// the client's end of input.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// tlsStateOf returns the TLS state of a handed-over connection: net/http
// only sees *tls.Conn itself, so the handler gets it from the context.
func tlsStateOf(c net.Conn) *tls.ConnectionState {
	if pc, ok := c.(*prefixConn); ok && pc.tls != nil {
		cs := pc.tls.ConnectionState()
		return &cs
	}
	return nil
}

var _ io.Reader = (*prefixConn)(nil)
