package apigw

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/gwserver"
)

// fastForward sends a route's body-less GET and HEAD requests to a plain
// HTTP or unix-socket upstream without httputil.ReverseProxy: the
// upstream request is written straight from the incoming one onto a
// pooled connection of the route's directTransport, and the answer is
// copied back. ReverseProxy clones the request and its headers, then
// rewrites them, before net/http writes them out; on a small machine that
// is a good part of the gateway's work per request. What goes upstream is
// exactly what the route's ReverseProxy sends (the same headers removed,
// the identity and X-Forwarded-* headers set, the decoded path, the
// query), and the answer gets the same treatment (hop-by-hop headers
// removed, trailers, 1xx answers, streams flushed); a request it does not
// cover (see eligible) takes the ReverseProxy.
type fastForward struct {
	t     *directTransport
	route *route
	host  string // the upstream's Host header
	base  string // the upstream URL's path, without a trailing slash
	idH   string // canonical key id header
	grpH  string // canonical groups header
	bufs  *bufPool
	idle  time.Duration // stream_idle_timeout for the upstream's body
}

// eligible reports whether r takes the fast path: what directTransport
// takes, over HTTP/1, with a query ReverseProxy would send unchanged
// (it re-encodes queries with ';', bad escapes or very many parameters).
func (f *fastForward) eligible(r *http.Request) bool {
	return r.ProtoMajor == 1 && direct(r) && gwserver.PlainQuery(r.URL.RawQuery)
}

// serve forwards r (already admitted: ri.key is set) and copies the
// answer to w.
func (f *fastForward) serve(w http.ResponseWriter, r *http.Request, ri *reqInfo) {
	ctx := r.Context()
	// An HTTP/1.0 client's implied close is the client connection's
	// business; the upstream connection stays alive, as with ReverseProxy.
	resp, err := f.t.do(ctx, &fastRequest{f: f, r: r, ri: ri, w: w}, r, true)
	if err != nil {
		upstreamFailed(ctx, w, ri, err)
		return
	}
	ri.upstream = time.Since(ri.start)
	removeHopHeaders(resp.Header)
	h := w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)
	if err := copyBody(w, resp, f.bufs, f.idle); err != nil {
		resp.Body.Close()
		ri.err = err
		// The answer is cut short: abort the client connection so that
		// the client sees it, as ReverseProxy does.
		panic(http.ErrAbortHandler)
	}
	resp.Body.Close() // fills resp.Trailer
	if len(resp.Trailer) == 0 {
		return
	}
	// Trailers force a chunked answer even for a short body.
	flush(w)
	if len(resp.Trailer) == announced {
		for k, vv := range resp.Trailer {
			h[k] = append(h[k], vv...)
		}
		return
	}
	for k, vv := range resp.Trailer {
		k = http.TrailerPrefix + k
		h[k] = append(h[k], vv...)
	}
}

// copyBody streams the body. Unless the whole body came in with the
// headers, the headers go to the client at once, as ReverseProxy sends
// them (at once for a stream, within its flush interval otherwise), so
// that a client of a slow or idle stream sees the answer begin. A stream
// (unknown length, or server-sent events) is flushed after every write,
// so each event reaches the client when it leaves the upstream; so is a
// body of known length that is not complete yet, so that a slow download
// never waits in a buffer. A body read whole in one go is flushed once,
// when the handler returns.
func copyBody(w http.ResponseWriter, resp *http.Response, bufs *bufPool, idle time.Duration) error {
	db, ok := resp.Body.(*directBody)
	if !ok {
		return nil // http.NoBody: nothing follows the headers
	}
	stream := resp.ContentLength < 0 || isEventStream(resp.Header.Get("Content-Type"))
	if stream || int64(db.pc.br.Buffered()) < resp.ContentLength {
		flush(w)
	}
	bp := bufs.p.Get().(*[]byte)
	defer bufs.p.Put(bp)
	buf := *bp
	var written int64
	for {
		if idle > 0 {
			// The client side's writes move their own deadline (recorder).
			_ = db.pc.conn.SetReadDeadline(time.Now().Add(idle))
		}
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			written += int64(m)
			if werr != nil {
				return werr
			}
			if m != n {
				return io.ErrShortWrite
			}
			if stream || rerr == nil && written < resp.ContentLength {
				flush(w)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func flush(w http.ResponseWriter) {
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}

// isEventStream reports whether a Content-Type is text/event-stream.
func isEventStream(ct string) bool {
	base, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(base), "text/event-stream")
}

// hopHeaders are the hop-by-hop headers ReverseProxy removes both ways.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopHeaders removes the hop-by-hop headers and those the
// Connection header names, as ReverseProxy does with an answer.
func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, f := range hopHeaders {
		delete(h, f)
	}
}

// fastRequest is one request on the fast path.
type fastRequest struct {
	f  *fastForward
	r  *http.Request
	ri *reqInfo
	w  http.ResponseWriter
}

var _ outRequest = (*fastRequest)(nil)

// writeHead writes what the route's ReverseProxy (and then
// Request.Write) would: request line with the decoded path re-escaped,
// Host of the upstream, the client's headers but the hop-by-hop ones,
// Authorization, forwarding and identity headers (and their '_'
// spellings), Te: trailers when asked, the key's identity, and
// X-Forwarded-For/Host/Proto.
func (fr *fastRequest) writeHead(bw *bufio.Writer) error {
	f, r := fr.f, fr.r
	p := r.URL.Path
	if f.route.strip {
		p = f.route.rest(p)
	}
	u := url.URL{Path: f.base + p}
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(u.EscapedPath())
	if r.URL.ForceQuery || r.URL.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(r.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(f.host)
	bw.WriteString("\r\n")
	for k, vv := range r.Header {
		switch k {
		case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
			"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
			"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
			"Authorization", "Host", "Content-Length", f.idH, f.grpH:
			continue
		case "User-Agent":
			// Request.Write sends the first value only.
			if len(vv) > 0 && vv[0] != "" {
				gwserver.WriteHeaderLine(bw, k, vv[0])
			}
			continue
		}
		if strings.IndexByte(k, '_') >= 0 && isAlias(k, f.idH, f.grpH) {
			continue
		}
		for _, v := range vv {
			gwserver.WriteHeaderLine(bw, k, v)
		}
	}
	if gwserver.HasToken(r.Header["Te"], "trailers") {
		bw.WriteString("Te: trailers\r\n")
	}
	gwserver.WriteHeaderLine(bw, f.idH, fr.ri.key.ID)
	gwserver.WriteHeaderLine(bw, f.grpH, fr.ri.key.groupsHeader)
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		gwserver.WriteHeaderLine(bw, "X-Forwarded-For", ip)
	}
	gwserver.WriteHeaderLine(bw, "X-Forwarded-Host", r.Host)
	if r.TLS != nil {
		bw.WriteString("X-Forwarded-Proto: https\r\n\r\n")
	} else {
		bw.WriteString("X-Forwarded-Proto: http\r\n\r\n")
	}
	return nil
}

// got1xx passes an informational answer (103 Early Hints) on, as
// ReverseProxy does.
func (fr *fastRequest) got1xx(code int, hdr textproto.MIMEHeader) error {
	h := fr.w.Header()
	for k, vv := range hdr {
		h[k] = append(h[k], vv...)
	}
	fr.w.WriteHeader(code)
	clear(h)
	return nil
}

// isAlias reports whether k spells Authorization or one of names with
// '_' for '-' (see dropAliases).
func isAlias(k string, names ...string) bool {
	alias := strings.ReplaceAll(k, "_", "-")
	if strings.EqualFold(alias, "Authorization") {
		return true
	}
	for _, n := range names {
		if strings.EqualFold(alias, n) {
			return true
		}
	}
	return false
}

// upstreamFailed answers a request whose upstream exchange failed before
// any of the answer was sent: 504 on a timeout, 502 otherwise, nothing
// (499 in the log) when the client has gone.
func upstreamFailed(ctx context.Context, w http.ResponseWriter, ri *reqInfo, err error) {
	if ctx.Err() != nil {
		if ri != nil {
			ri.reason = "client_gone"
		}
		w.WriteHeader(499)
		return
	}
	status, reason, msg := http.StatusBadGateway, ReasonBadGateway, "upstream unavailable"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		status, reason, msg = http.StatusGatewayTimeout, ReasonTimeout, "upstream timed out"
	}
	if ri != nil {
		ri.reason = reason
		ri.err = err
	}
	writeRefusal(w, status, reason, msg)
}
