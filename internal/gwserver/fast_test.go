package gwserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// FuzzParseHead: whatever head the fast server takes, net/http reads the
// same way (method, target, version, host, headers, keep-alive); the
// fast server only ever takes a subset of what net/http accepts.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /v0/x?a=1&b=%20 HTTP/1.1\r\nHost: gw:8443\r\nAuthorization: Bearer a.b.c\r\nAccept: */*\r\nAccept: x\r\n\r\n",
		"HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close, keep-alive\r\nX_A: 1\r\nx-b:\t2 \r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: [::1]:80\r\nX: \x80\xff\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		// headLen hands parseHead exactly one head, up to its blank line.
		if i := strings.Index(string(head), "\r\n\r\n"); i >= 0 {
			head = head[:i+4]
		} else {
			head = append(head, "\r\n\r\n"...)
		}
		r, keep, ok := parseHead(head)
		if !ok {
			return
		}
		want, err := http.ReadRequest(bufio.NewReader(strings.NewReader(string(head))))
		if err != nil {
			t.Fatalf("taken by the fast server, refused by net/http (%v): %q", err, head)
		}
		if r.Method != want.Method || r.RequestURI != want.RequestURI || r.URL.String() != want.URL.String() ||
			r.URL.Path != want.URL.Path || r.Proto != want.Proto || r.ProtoMinor != want.ProtoMinor || r.Host != want.Host {
			t.Fatalf("%q: fast %s %q %s host %q, net/http %s %q %s host %q", head, r.Method, r.URL, r.Proto, r.Host, want.Method, want.URL, want.Proto, want.Host)
		}
		wh := want.Header.Clone()
		delete(wh, "Connection")
		if fmt.Sprint(testenv.HeaderLines(r.Header)) != fmt.Sprint(testenv.HeaderLines(wh)) {
			t.Fatalf("%q: headers %q, net/http %q", head, testenv.HeaderLines(r.Header), testenv.HeaderLines(wh))
		}
		if keep == want.Close {
			t.Fatalf("%q: keep-alive %v, net/http close %v", head, keep, want.Close)
		}
		if want.ContentLength != 0 || len(want.TransferEncoding) > 0 {
			t.Fatalf("%q: taken with a body", head)
		}
	})
}

// startFast serves h through New with the fast server on, over TLS when
// tlsOn, and returns a dial function for it.
func startFast(t *testing.T, h http.Handler, tlsOn bool) func() net.Conn {
	t.Helper()
	dial := startServer(t, h, tlsOn, true)
	return func() net.Conn { return dial(t) }
}

// startServer is startFast with the fast server on or off.
// Its dial function fails, and closes the connection at the end of, the
// test it is given.
func startServer(t testing.TB, h http.Handler, tlsOn, fast bool) func(testing.TB) net.Conn {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv := New(ctx, Options{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 10 * time.Second,
		Logger: slog.New(slog.DiscardHandler), Fast: fast, WatchAfter: 20 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	var pool *x509.CertPool
	if tlsOn {
		dir := t.TempDir()
		cert, _, _, err := LoadCert(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), []string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		pool = x509.NewCertPool()
		pool.AddCert(leaf)
		ln = ListenTLS(srv, ln, cert)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return func(tb testing.TB) net.Conn {
		tb.Helper()
		var c net.Conn
		var err error
		if tlsOn {
			c, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
		} else {
			c, err = net.Dial("tcp", addr)
		}
		if err != nil {
			tb.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		tb.Cleanup(func() { c.Close() })
		return c
	}
}

func readAnswer(t *testing.T, br *bufio.Reader, method string) (int, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestFastServerNoticesClientGone: a client that closes its connection
// while a bodiless GET waits (a silent stream: `docker logs -f` of a
// quiet container, an event stream) cancels the request's context, as
// net/http does, so the gateway lets go of the upstream.
func TestFastServerNoticesClientGone(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", tlsOn), func(t *testing.T) {
			started, ended := make(chan struct{}, 1), make(chan error, 1)
			dial := startFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				started <- struct{}{}
				select {
				case <-r.Context().Done():
					ended <- r.Context().Err()
				case <-time.After(10 * time.Second):
					ended <- errors.New("the request's context was not cancelled")
				}
			}), tlsOn)
			c := dial()
			writeAll(t, c, "GET /follow HTTP/1.1\r\nHost: gw\r\n\r\n")
			<-started
			time.Sleep(100 * time.Millisecond) // past WatchAfter
			c.Close()
			select {
			case err := <-ended:
				if !errors.Is(err, context.Canceled) {
					t.Fatal(err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("the handler did not return")
			}
		})
	}
}

// TestFastServerWatchKeepsConnection: requests slower than WatchAfter
// (so a read watched the client) leave the connection as it was: a
// request sent while the watch read, a pipelined one, one handed to
// net/http with a body, and one sent after the answer are all answered
// in order, over plain HTTP and TLS.
func TestFastServerWatchKeepsConnection(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", tlsOn), func(t *testing.T) {
			dial := startFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("slow") != "" {
					time.Sleep(150 * time.Millisecond)
				}
				b, _ := io.ReadAll(r.Body)
				fmt.Fprintf(w, "%s %s %q", r.Method, r.URL.Path, b)
			}), tlsOn)
			c := dial()
			br := bufio.NewReader(c)
			writeAll(t, c, "GET /one?slow=1 HTTP/1.1\r\nHost: gw\r\n\r\n")
			time.Sleep(60 * time.Millisecond) // the watch is reading now
			writeAll(t, c, "GET /two?slow=1 HTTP/1.1\r\nHost: gw\r\n\r\nGET /three HTTP/1.1\r\nHost: gw\r\n\r\n")
			for _, want := range []string{`GET /one ""`, `GET /two ""`, `GET /three ""`} {
				if code, body := readAnswer(t, br, "GET"); code != 200 || body != want {
					t.Fatalf("got %d %q, want %q", code, body, want)
				}
			}
			writeAll(t, c, "GET /four?slow=1 HTTP/1.1\r\nHost: gw\r\n\r\n")
			time.Sleep(60 * time.Millisecond)
			writeAll(t, c, "POST /five HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello")
			for _, want := range []struct{ m, body string }{{"GET", `GET /four ""`}, {"POST", `POST /five "hello"`}} {
				if code, body := readAnswer(t, br, want.m); code != 200 || body != want.body {
					t.Fatalf("got %d %q, want %q", code, body, want.body)
				}
			}
			writeAll(t, c, "GET /six HTTP/1.1\r\nHost: gw\r\n\r\n")
			if code, body := readAnswer(t, br, "GET"); code != 200 || body != `GET /six ""` {
				t.Fatalf("got %d %q", code, body)
			}
		})
	}
}

// flakyListener fails its first Accept as an exhausted file table does.
type flakyListener struct {
	net.Listener
	failed atomic.Bool
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if !l.failed.Swap(true) {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestFastServerSurvivesTemporaryAcceptErrors: running out of file
// descriptors (EMFILE, which is not a timeout) makes the fast server back
// off and accept again, as net/http does, instead of stopping the gateway.
func TestFastServerSurvivesTemporaryAcceptErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := New(ctx, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler), Fast: true})
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, &flakyListener{Listener: raw}, time.Second) }()
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	writeAll(t, c, "GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
	if code, body := readAnswer(t, bufio.NewReader(c), "GET"); code != 200 || body != "ok" {
		t.Fatalf("got %d %q", code, body)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve stopped: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestServerNoticesPipelinedClientGone: a client that sent a second
// request behind a silent stream and then went away cancels the stream's
// context, with the fast server as with net/http (whose read watches the
// connection whatever is already buffered).
func TestServerNoticesPipelinedClientGone(t *testing.T) {
	for _, fast := range []bool{false, true} {
		for _, tlsOn := range []bool{false, true} {
			t.Run(fmt.Sprint("fast=", fast, ",tls=", tlsOn), func(t *testing.T) {
				started, ended := make(chan struct{}, 1), make(chan error, 1)
				dial := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/follow" {
						return
					}
					started <- struct{}{}
					select {
					case <-r.Context().Done():
						ended <- r.Context().Err()
					case <-time.After(5 * time.Second):
						ended <- errors.New("the request's context was not cancelled")
					}
				}), tlsOn, fast)
				c := dial(t)
				writeAll(t, c, "GET /follow HTTP/1.1\r\nHost: gw\r\n\r\nGET /next HTTP/1.1\r\nHost: gw\r\n\r\n")
				<-started
				time.Sleep(100 * time.Millisecond) // past WatchAfter
				c.Close()
				if err := <-ended; !errors.Is(err, context.Canceled) {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestFastServerShutdownEndsUnwatchedRequest: a request whose connection
// shutdown cuts before its watch started has its context cancelled, so
// that Serve returns.
func TestFastServerShutdownEndsUnwatchedRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{}, 1)
	srv := New(ctx, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	}), ReadHeaderTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler), Fast: true, WatchAfter: 300 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, 50*time.Millisecond) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	writeAll(t, c, "GET /follow HTTP/1.1\r\nHost: gw\r\n\r\n")
	<-started
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestFastServerSniffsAsNetHTTP: a short first write followed by a long
// one is sniffed on the first 512 bytes of the body, as net/http does.
func TestFastServerSniffsAsNetHTTP(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
		w.Write(make([]byte, 3000))
	})
	var types []string
	for _, fast := range []bool{false, true} {
		c := startServer(t, h, false, fast)(t)
		writeAll(t, c, "GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		types = append(types, resp.Header.Get("Content-Type"))
	}
	if types[0] != types[1] {
		t.Fatalf("Content-Type %q from net/http, %q from the fast server", types[0], types[1])
	}
}

// TestFastServerWatchKeepsPipelinedOrder: watches that read while a
// pipelined request waits in the buffer keep what they read behind it:
// requests sent in one piece and one sent while they run are answered in
// order, over plain HTTP and TLS.
func TestFastServerWatchKeepsPipelinedOrder(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", tlsOn), func(t *testing.T) {
			dial := startFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("slow") != "" {
					time.Sleep(100 * time.Millisecond)
				}
				fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
			}), tlsOn)
			c := dial()
			br := bufio.NewReader(c)
			writeAll(t, c, "GET /one?slow=1 HTTP/1.1\r\nHost: gw\r\n\r\nGET /two?slow=1 HTTP/1.1\r\nHost: gw\r\n\r\nGET /three?slow=1 HTTP/1.1\r\nHost: gw\r\n\r\n")
			time.Sleep(60 * time.Millisecond) // the watch of /one is reading
			writeAll(t, c, "GET /four HTTP/1.1\r\nHost: gw\r\n\r\nPOST /five HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\nGET /six HTTP/1.1\r\nHost: gw\r\n\r\n")
			for _, want := range []string{"GET /one", "GET /two", "GET /three", "GET /four", "POST /five", "GET /six"} {
				if code, body := readAnswer(t, br, strings.Fields(want)[0]); code != 200 || body != want {
					t.Fatalf("got %d %q, want %q", code, body, want)
				}
			}
		})
	}
}

// TestWriteAfterCompleteRefused: once a handler has completed its answer
// (Completer), a later write is refused instead of reaching the client
// as the start of the next answer.
func TestWriteAfterCompleteRefused(t *testing.T) {
	errs := make(chan error, 1)
	dial := startFast(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "done")
		w.(http.Flusher).Flush() // chunked: nothing bounds the body
		w.(Completer).Complete()
		_, err := io.WriteString(w, "late")
		w.(http.Flusher).Flush()
		errs <- err
	}), false)
	c := dial()
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: gw\r\n\r\nGET /b HTTP/1.1\r\nHost: gw\r\n\r\n")
	for _, want := range []string{"done", "done"} {
		if code, body := readAnswer(t, br, "GET"); code != 200 || body != want {
			t.Fatalf("got %d %q, want %q", code, body, want)
		}
		if err := <-errs; err == nil {
			t.Fatal("a write after Complete was accepted")
		}
	}
}

// TestShutdownClosesIdleHandedOverAtOnce: on shutdown, an idle
// connection that net/http serves is closed at once, while a stream on
// the fast server still has its grace period.
func TestShutdownClosesIdleHandedOverAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	streaming := make(chan struct{}, 1)
	srv := New(ctx, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.(http.Flusher).Flush()
			streaming <- struct{}{}
			<-r.Context().Done()
			return
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute, Logger: slog.New(slog.DiscardHandler), Fast: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, 5*time.Second) }()
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		return c, bufio.NewReader(c)
	}
	stream, _ := dial()
	io.WriteString(stream, "GET /stream HTTP/1.1\r\nHost: gw\r\n\r\n")
	<-streaming
	idle, br := dial()
	io.WriteString(idle, "POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\nhi") // net/http's
	if code, body := readAnswer(t, br, "POST"); code != 200 || body != "ok" {
		t.Fatalf("%d %q", code, body)
	}
	start := time.Now()
	cancel()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the idle connection got more bytes")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the idle connection was closed after %v, behind the stream's grace period", d)
	}
	stream.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// writeAll sends s on c, failing the test if it cannot.
func writeAll(t testing.TB, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}
