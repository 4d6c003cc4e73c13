package engine

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// directPool forwards bodiless GET and HEAD requests (pings, lists,
// inspects, logs, events, image saves) to a plain upstream (unix socket or
// loopback HTTP) on pooled connections, writing the request and reading
// the response in the handler's goroutine. http.Transport spends two
// goroutines and several hand-offs on every request; on the hot path that
// is most of the gateway's cost. Everything else (bodies, upgrades, a TLS
// upstream) goes through httputil.ReverseProxy.
type directPool struct {
	dial    func(ctx context.Context) (net.Conn, error)
	host    string
	idle    chan *upConn
	bufPool *bufferPool
}

type upConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func newDirectPool(dial func(ctx context.Context) (net.Conn, error), host string, maxIdle int, bp *bufferPool) *directPool {
	return &directPool{dial: dial, host: host, idle: make(chan *upConn, maxIdle), bufPool: bp}
}

// usable reports whether r can take the direct path.
func (p *directPool) usable(r *http.Request) bool {
	return p != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		r.ContentLength == 0 && len(r.TransferEncoding) == 0 &&
		r.Header.Get("Upgrade") == "" && r.ProtoMajor == 1
}

func (p *directPool) get(ctx context.Context) (*upConn, bool, error) {
	select {
	case u := <-p.idle:
		return u, true, nil
	default:
	}
	c, err := p.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	return &upConn{c: c, br: bufio.NewReaderSize(c, 64<<10), bw: bufio.NewWriterSize(c, 4<<10)}, false, nil
}

func (p *directPool) put(u *upConn) {
	select {
	case p.idle <- u:
	default:
		u.c.Close()
	}
}

// closeIdle closes the pooled connections (shutdown).
func (p *directPool) closeIdle() {
	if p == nil {
		return
	}
	for {
		select {
		case u := <-p.idle:
			u.c.Close()
		default:
			return
		}
	}
}

// hopHeaders are not forwarded in either direction (RFC 9110 7.6.1), and
// the token headers never reach the daemon.
var hopHeaders = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// notForwarded are request headers the daemon never sees: the token
// headers, and the X-Forwarded ones, which ReverseProxy also drops.
var notForwarded = map[string]bool{
	"Authorization": true, "Token": true, "Host": true,
	"Forwarded": true, "X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true,
}

// connectionListed reports header names the sender listed in Connection.
func connectionListed(h http.Header) map[string]bool {
	var m map[string]bool
	for _, v := range h["Connection"] {
		for _, f := range strings.Split(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				if m == nil {
					m = map[string]bool{}
				}
				m[http.CanonicalHeaderKey(f)] = true
			}
		}
	}
	return m
}

func (p *directPool) writeRequest(u *upConn, r *http.Request, uri string) error {
	bw := u.bw
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(p.host)
	bw.WriteString("\r\n")
	listed := connectionListed(r.Header)
	for k, vs := range r.Header {
		if hopHeaders[k] || listed[k] || notForwarded[k] {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}

// errClientGone is a failure to write to the client: nothing to answer.
var errClientGone = errors.New("client gone")

// errUpstreamBody is a daemon failure in the middle of a response whose
// header was already sent: the client's response must be cut, not ended.
var errUpstreamBody = errors.New("daemon response cut short")

// serve forwards r and copies the answer to w. It retries once on a fresh
// connection when a pooled one turns out to be closed before any byte of
// the answer arrived (the methods are idempotent). An error with
// sent == false means nothing was written to w.
func (p *directPool) serve(w http.ResponseWriter, r *http.Request, uri string) (sent bool, err error) {
	ctx := r.Context()
	for attempt := 0; ; attempt++ {
		u, reused, err := p.get(ctx)
		if err != nil {
			return false, err
		}
		// A client that goes away ends a long stream (logs -f, events).
		stop := context.AfterFunc(ctx, func() { _ = u.c.SetDeadline(time.Unix(1, 0)) })
		resp, err := p.roundTrip(u, r, uri)
		if err != nil {
			stop()
			u.c.Close()
			if reused && attempt == 0 && ctx.Err() == nil {
				continue
			}
			return false, err
		}
		err = p.copyResponse(w, resp, u.br)
		if !stop() {
			// The deadline was set: the connection cannot be reused.
			u.c.Close()
			return true, err
		}
		if err != nil || resp.Close {
			u.c.Close()
		} else {
			p.put(u)
		}
		return true, err
	}
}

func (p *directPool) roundTrip(u *upConn, r *http.Request, uri string) (*http.Response, error) {
	if err := p.writeRequest(u, r, uri); err != nil {
		return nil, err
	}
	return http.ReadResponse(u.br, r)
}

// readyMin is how many bytes must have arrived for the next read of a
// stream not to wait for the daemon: more than a chunk's closing CRLF and
// the next chunk's size line, so at least one byte of data.
const readyMin = 32

// copyResponse writes resp to w: headers without hop-by-hop ones, then the
// body. A stream (length unknown: logs -f, events, save) is flushed
// whenever the daemon has nothing more ready, so a log line is not held
// back; while the daemon is sending faster than the client takes it
// (an image save), reads are gathered into full buffers first: fewer,
// larger chunks and writes instead of a flush per read. br is the
// connection's reader, which tells what has already arrived.
func (p *directPool) copyResponse(w http.ResponseWriter, resp *http.Response, br *bufio.Reader) error {
	defer resp.Body.Close()
	h := w.Header()
	listed := connectionListed(resp.Header)
	for k, vs := range resp.Header {
		if hopHeaders[k] || listed[k] {
			continue
		}
		h[k] = vs
	}
	if resp.ContentLength >= 0 && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified {
		h["Content-Length"] = []string{strconv.FormatInt(resp.ContentLength, 10)}
	}
	w.WriteHeader(resp.StatusCode)
	stream := resp.ContentLength < 0
	bp := p.bufPool.Get()
	defer p.bufPool.Put(bp)
	var rc *http.ResponseController
	if stream {
		rc = http.NewResponseController(w)
		_ = rc.Flush()
	}
	for {
		n, rerr := resp.Body.Read(bp)
		// Gather what has already arrived, without waiting for more.
		for stream && rerr == nil && n < len(bp) && br.Buffered() > readyMin {
			var m int
			m, rerr = resp.Body.Read(bp[n:])
			n += m
		}
		if n > 0 {
			if _, err := w.Write(bp[:n]); err != nil {
				return errClientGone
			}
			if stream && br.Buffered() <= readyMin {
				_ = rc.Flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return errUpstreamBody
		}
	}
}
