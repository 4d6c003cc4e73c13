package apigw

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// directUpstream is a real loopback server that counts the connections
// it accepts.
type directUpstream struct {
	*httptest.Server
	conns atomic.Int32
}

func newDirectUpstream(t *testing.T, h http.HandlerFunc) *directUpstream {
	t.Helper()
	u := &directUpstream{Server: httptest.NewUnstartedServer(h)}
	u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

func newDirectTransport(addr string, headerTimeout time.Duration) *directTransport {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &directTransport{
		fallback:              &http.Transport{DisableCompression: true, ResponseHeaderTimeout: headerTimeout},
		dial:                  func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) },
		responseHeaderTimeout: headerTimeout,
		idleTimeout:           time.Minute,
		maxIdle:               8,
		maxHeaderBytes:        16 << 10,
	}
}

// get sends a GET (or method) through rt and returns the status and body.
func get(t *testing.T, rt http.RoundTripper, ctx context.Context, method, url string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestDirectTransportKeepAlive(t *testing.T) {
	up := newDirectUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			for i := range 3 {
				_, _ = io.WriteString(w, strings.Repeat("x", 10)+string(rune('0'+i)))
				http.NewResponseController(w).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		default:
			_, _ = io.WriteString(w, r.Method+" "+r.URL.Path)
		}
	})
	rt := newDirectTransport(up.Listener.Addr().String(), 5*time.Second)
	ctx := context.Background()
	for i := range 20 {
		code, body, err := get(t, rt, ctx, "GET", up.URL+"/a")
		if err != nil || code != 200 || body != "GET /a" {
			t.Fatalf("request %d: %d %q %v", i, code, body, err)
		}
	}
	if code, body, err := get(t, rt, ctx, "HEAD", up.URL+"/a"); err != nil || code != 200 || body != "" {
		t.Fatalf("HEAD: %d %q %v", code, body, err)
	}
	if code, body, err := get(t, rt, ctx, "GET", up.URL+"/chunked"); err != nil || code != 200 || body != "xxxxxxxxxx0xxxxxxxxxx1xxxxxxxxxx2" {
		t.Fatalf("chunked: %d %q %v", code, body, err)
	}
	if n := up.conns.Load(); n != 1 {
		t.Fatalf("%d upstream connections for 22 sequential requests, want 1 kept alive", n)
	}
	// An answer with Connection: close is not followed by a reuse.
	if code, body, err := get(t, rt, ctx, "GET", up.URL+"/close"); err != nil || code != 200 || body != "bye" {
		t.Fatalf("close: %d %q %v", code, body, err)
	}
	if code, _, err := get(t, rt, ctx, "GET", up.URL+"/a"); err != nil || code != 200 {
		t.Fatalf("after close: %d %v", code, err)
	}
	if n := up.conns.Load(); n != 2 {
		t.Fatalf("%d upstream connections, want 2 (a new one after Connection: close)", n)
	}
}

// TestDirectTransportStaleIdle: the upstream closes its idle connections;
// the next GET is retried once on a new connection and succeeds.
func TestDirectTransportStaleIdle(t *testing.T) {
	up := newDirectUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	rt := newDirectTransport(up.Listener.Addr().String(), 5*time.Second)
	ctx := context.Background()
	for range 3 {
		if code, _, err := get(t, rt, ctx, "GET", up.URL+"/"); err != nil || code != 200 {
			t.Fatalf("%d %v", code, err)
		}
		up.CloseClientConnections()
		time.Sleep(20 * time.Millisecond) // let the FIN arrive
	}
	if code, body, err := get(t, rt, ctx, "GET", up.URL+"/"); err != nil || code != 200 || body != "ok" {
		t.Fatalf("after the upstream closed idle connections: %d %q %v", code, body, err)
	}
}

// TestDirectTransportFallback: requests with a body, other methods and
// upgrades go through http.Transport, body intact.
func TestDirectTransportFallback(t *testing.T) {
	up := newDirectUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+string(b))
	})
	rt := newDirectTransport(up.Listener.Addr().String(), 5*time.Second)
	for _, tc := range []struct {
		method, body string
		direct       bool
	}{
		{"GET", "", true},
		{"HEAD", "", true},
		{"POST", "payload", false},
		{"POST", "", false},
		{"DELETE", "", false},
		{"GET", "body on a GET", false},
	} {
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		req, _ := http.NewRequest(tc.method, up.URL+"/", body)
		if got := direct(req); got != tc.direct {
			t.Errorf("%s with body %q: direct %v, want %v", tc.method, tc.body, got, tc.direct)
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := tc.method + " " + tc.body; tc.method != "HEAD" && string(b) != want {
			t.Errorf("%s: upstream answered %q, want %q", tc.method, b, want)
		}
	}
	up2, _ := http.NewRequest("GET", up.URL+"/", nil)
	up2.Header.Set("Connection", "Upgrade")
	up2.Header.Set("Upgrade", "websocket")
	if direct(up2) {
		t.Error("an upgrade request took the direct path")
	}
}

// TestDirectTransportTimeoutsAndCancel: no headers within the timeout is
// a timeout error; a cancelled request returns at once; neither
// connection is reused.
func TestDirectTransportTimeoutsAndCancel(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	up := newDirectUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		_, _ = io.WriteString(w, "ok")
	})
	rt := newDirectTransport(up.Listener.Addr().String(), 300*time.Millisecond)
	start := time.Now()
	_, _, err := get(t, rt, context.Background(), "GET", up.URL+"/slow")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("slow upstream: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("timed out after %v, want about 300ms", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	rt.responseHeaderTimeout = 0
	start = time.Now()
	_, _, err = get(t, rt, ctx, "GET", up.URL+"/slow")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("cancelled request returned after %v", d)
	}
	if code, _, err := get(t, rt, context.Background(), "GET", up.URL+"/"); err != nil || code != 200 {
		t.Fatalf("after the timeout and the cancel: %d %v", code, err)
	}
	if n := up.conns.Load(); n != 3 {
		t.Fatalf("%d upstream connections, want 3 (timed-out and cancelled ones dropped)", n)
	}
}

// TestDirectTransportEarlyClose: closing an endless body early closes
// the connection instead of draining it.
func TestDirectTransportEarlyClose(t *testing.T) {
	up := newDirectUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/endless" {
			_, _ = io.WriteString(w, "ok")
			return
		}
		rc := http.NewResponseController(w)
		for r.Context().Err() == nil {
			if _, err := w.Write(make([]byte, 4096)); err != nil {
				return
			}
			_ = rc.Flush()
		}
	})
	rt := newDirectTransport(up.Listener.Addr().String(), 5*time.Second)
	req, _ := http.NewRequest("GET", up.URL+"/endless", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 10000)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- resp.Body.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("closing an endless body hung")
	}
	if _, err := resp.Body.Read(make([]byte, 10)); err == nil || err == io.EOF {
		t.Fatalf("read after close: %v, want an error other than EOF", err)
	}
	if code, body, err := get(t, rt, context.Background(), "GET", up.URL+"/"); err != nil || code != 200 || body != "ok" {
		t.Fatalf("after an early close: %d %q %v", code, body, err)
	}
	if n := up.conns.Load(); n != 2 {
		t.Fatalf("%d upstream connections, want 2", n)
	}
}

// TestDirectTransportHeaderBound refuses response headers over the bound.
func TestDirectTransportHeaderBound(t *testing.T) {
	up := newDirectUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("a", 32<<10))
		_, _ = io.WriteString(w, "ok")
	})
	rt := newDirectTransport(up.Listener.Addr().String(), 5*time.Second)
	_, _, err := get(t, rt, context.Background(), "GET", up.URL+"/")
	if err == nil || !strings.Contains(err.Error(), "exceeded") {
		t.Fatalf("32 KiB header with a 16 KiB bound: %v", err)
	}
}

// TestDirectTransport1xx passes informational answers to the trace (as
// ReverseProxy uses it to forward 103 Early Hints) and returns the final
// answer.
func TestDirectTransport1xx(t *testing.T) {
	up := newDirectUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "final")
	})
	rt := newDirectTransport(up.Listener.Addr().String(), 5*time.Second)
	var got []int
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			got = append(got, code)
			return nil
		},
	})
	code, body, err := get(t, rt, ctx, "GET", up.URL+"/")
	if err != nil || code != 200 || body != "final" || len(got) != 1 || got[0] != http.StatusEarlyHints {
		t.Fatalf("%d %q %v, 1xx seen %v", code, body, err, got)
	}
}

// TestDirectTransportUnsolicited: bytes an upstream sends after a
// complete answer, while the connection is idle, are never taken for the
// answer to the next request (which could be another key's).
func TestDirectTransportUnsolicited(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepted.Add(1)
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil {
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
				if n == 1 {
					time.Sleep(30 * time.Millisecond)
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!")
				}
				_, _ = c.Read(buf)
			}()
		}
	}()
	rt := newDirectTransport(ln.Addr().String(), 5*time.Second)
	url := "http://" + ln.Addr().String() + "/"
	if _, body, err := get(t, rt, context.Background(), "GET", url); err != nil || body != "first" {
		t.Fatalf("first: %q %v", body, err)
	}
	time.Sleep(100 * time.Millisecond) // the unsolicited answer arrives while idle
	if _, body, err := get(t, rt, context.Background(), "GET", url); err != nil || body != "first" {
		t.Fatalf("second request answered %q %v, want a fresh connection's \"first\"", body, err)
	}
	if n := accepted.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// A body cut short by the upstream keeps failing on every later Read: it
// is not taken for a complete one.
func TestDirectTransportTruncatedBodyStaysFailed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		if _, err := c.Read(buf); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
	}()
	rt := newDirectTransport(ln.Addr().String(), 5*time.Second)
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if string(b) != "abc" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %q, %v; want abc and unexpected EOF", b, err)
	}
	if n, err := resp.Body.Read(make([]byte, 8)); n != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read after the failure: %d, %v; want the same error, not a clean end", n, err)
	}
}
