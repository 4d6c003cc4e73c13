package apigw

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"

	"github.com/portcullis/portcullis/internal/testenv"
)

// wireAnswer is one answer as the client's connection carried it.
type wireAnswer struct {
	interim []string
	status  int
	header  []string
	framing string // how the body was delimited
	body    string
	trailer []string
}

func (a wireAnswer) String() string {
	return fmt.Sprintf("interim %q status %d framing %s\nheader %q\nbody %q\ntrailer %q", a.interim, a.status, a.framing, a.header, a.body, a.trailer)
}

// readAnswers reads an answer for each of methods (each after up to five
// informational ones); a read that fails ends the list with status -1 and
// the error as body.
func readAnswers(br *bufio.Reader, methods []string) []wireAnswer {
	var out []wireAnswer
	for _, m := range methods {
		var a wireAnswer
		for interim := 0; ; interim++ {
			resp, err := http.ReadResponse(br, &http.Request{Method: m})
			if err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && interim >= 5 {
				err = errors.New("too many interim answers")
			}
			if err != nil {
				return append(out, wireAnswer{status: -1, body: err.Error()})
			}
			if resp.StatusCode >= 100 && resp.StatusCode < 200 {
				a.interim = append(a.interim, fmt.Sprint(resp.StatusCode, testenv.HeaderLines(resp.Header)))
				continue
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				body = []byte("read error: " + err.Error())
			}
			a.status, a.body = resp.StatusCode, string(body)
			a.header = testenv.HeaderLines(resp.Header, "Date")
			a.trailer = testenv.HeaderLines(resp.Trailer)
			a.framing = fmt.Sprintf("te=%v cl=%d close=%v", resp.TransferEncoding, resp.ContentLength, resp.Close)
			break
		}
		out = append(out, a)
	}
	return out
}

// dialAndWrite writes data verbatim on a new connection (closed when the test
// ends; reads and writes bounded to 10 s) and returns it with a reader.
func dialAndWrite(t *testing.T, addr, data string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, data); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

// exchange writes data (one or more requests) on a new connection, reads
// up to n answers, and reports whether the server then closed the
// connection.
func exchange(t *testing.T, addr, data string, methods []string) ([]wireAnswer, bool) {
	t.Helper()
	c, br := dialAndWrite(t, addr, data)
	out := readAnswers(br, methods)
	if len(out) < len(methods) || out[len(out)-1].status == -1 {
		return out, true
	}
	// Closed by the server: a read returns EOF at once; open: it waits.
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := br.ReadByte()
	return out, err == io.EOF
}

// TestFastServerMatchesNetHTTP sends the same bytes to a gateway whose
// fast server reads plain requests and to one where net/http reads
// everything, and checks that the upstream and the client see the same
// thing: plain requests the fast server answers, refusals it writes, and
// the requests it must leave to net/http (bodies, smuggling attempts,
// malformed heads, upgrades), alone or after plain ones on the same
// connection.
func TestFastServerMatchesNetHTTP(t *testing.T) {
	up := newRecordingUpstream(t)
	const secret = "00112233445566778899aabbccddeeff"
	keys := `kapi_id="001";kapi_key="` + secret + `";kapi_groups="admin"` + "\n"
	yaml := "routes:\n  - prefix: /v0\n    strip_prefix: true\n    groups: [admin]\n    upstream: http://" + up.addr + "\n" +
		"  - prefix: /admin-only\n    groups: [root]\n    upstream: http://" + up.addr + "\n" +
		"  - prefix: /\n    upstream: http://" + up.addr + "\n"
	fastAddr := startServerGW(t, yaml, keys, false)
	slowAddr := startServerGW(t, yaml, keys, true)

	tok := func() string {
		return Sign("001", secret, time.Now().Add(5*time.Second+time.Duration(tokenSeq.Add(1)%50)*time.Second))
	}
	get := func(path string, extra ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\n" + strings.Join(extra, "") + "\r\n"
	}
	cases := []struct {
		name    string
		data    func() string
		methods []string
	}{
		{"plain", func() string { return get("/v0/plain") }, []string{"GET"}},
		{"keep-alive pipeline", func() string { return get("/plain") + get("/v0/sse") + get("/empty") }, []string{"GET", "GET", "GET"}},
		{"close asked", func() string { return get("/plain", "Connection: close\r\n") }, []string{"GET"}},
		{"http/1.0", func() string {
			return "GET /plain HTTP/1.0\r\nAuthorization: Bearer " + tok() + "\r\n\r\n"
		}, []string{"GET"}},
		{"http/1.0 keep-alive", func() string {
			return "GET /plain HTTP/1.0\r\nConnection: keep-alive\r\nAuthorization: Bearer " + tok() + "\r\n\r\n"
		}, []string{"GET"}},
		{"http/1.0 stream", func() string {
			return "GET /sse HTTP/1.0\r\nConnection: keep-alive\r\nAuthorization: Bearer " + tok() + "\r\n\r\n"
		}, []string{"GET"}},
		{"head", func() string { return "HEAD /head HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\n\r\n" }, []string{"HEAD"}},
		{"trailers", func() string { return get("/trailers") + get("/announced") }, []string{"GET", "GET"}},
		{"early hints", func() string { return get("/early") }, []string{"GET"}},
		{"upstream speaks garbage", func() string { return get("/garbage") + get("/plain") }, []string{"GET", "GET"}},
		{"not modified", func() string { return get("/notmodified", "If-None-Match: \"x\"\r\n") + get("/empty") }, []string{"GET", "GET"}},
		{"no auth", func() string { return "GET /plain HTTP/1.1\r\nHost: gw\r\n\r\n" + get("/plain") }, []string{"GET", "GET"}},
		{"bad token", func() string {
			return get("/plain", "X-Extra: 1\r\n")[:0] + "GET /x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer a.b.c\r\n\r\n"
		}, []string{"GET"}},
		{"forbidden", func() string { return get("/admin-only/x") + get("/plain") }, []string{"GET", "GET"}},
		{"replayed", func() string {
			t := tok()
			r := "GET /plain HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + t + "\r\n\r\n"
			return r + r
		}, []string{"GET", "GET"}},
		{"unclean path", func() string { return get("/a/../plain") + get("/plain") }, []string{"GET", "GET"}},
		{"post with body after plain", func() string {
			return get("/plain") + "POST /plain HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\nContent-Length: 3\r\n\r\nabc" + get("/plain")
		}, []string{"GET", "POST", "GET"}},
		{"get with content-length", func() string {
			return "GET /plain HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\nContent-Length: 0\r\n\r\n"
		}, []string{"GET"}},
		{"smuggling cl.te", func() string {
			return "GET /plain HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /plain HTTP/1.1\r\nHost: gw\r\n\r\n"
		}, []string{"GET", "GET"}},
		{"space before colon", func() string {
			return "GET /plain HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\nContent-Length : 5\r\n\r\nhello"
		}, []string{"GET"}},
		{"obs-fold", func() string {
			return "GET /plain HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\nX-A: 1\r\n 2\r\n\r\n"
		}, []string{"GET"}},
		{"bare LF", func() string {
			return "GET /plain HTTP/1.1\nHost: gw\nAuthorization: Bearer " + tok() + "\n\n"
		}, []string{"GET"}},
		{"two hosts", func() string { return get("/plain", "Host: other\r\n") }, []string{"GET"}},
		{"no host", func() string { return "GET /plain HTTP/1.1\r\nAuthorization: Bearer " + tok() + "\r\n\r\n" }, []string{"GET"}},
		{"absolute form", func() string {
			return "GET http://gw/plain HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\n\r\n"
		}, []string{"GET"}},
		{"two authorizations", func() string { return get("/plain", "Authorization: Bearer "+tok()+"\r\n") }, []string{"GET"}},
		{"expect", func() string { return get("/plain", "Expect: 100-continue\r\n") }, []string{"GET"}},
		{"connection names a header", func() string { return get("/plain", "Connection: X-Secret\r\nX-Secret: 1\r\n") }, []string{"GET"}},
		{"long head", func() string { return get("/plain", "X-Big: "+strings.Repeat("b", 6000)+"\r\n") }, []string{"GET"}},
		{"control byte", func() string { return get("/plain", "X-A: a\x01b\r\n") }, []string{"GET"}},
		{"encoded path", func() string { return get("/v0/a%2Fb") + get("/v0/%2e%2e/plain") }, []string{"GET", "GET"}},
		{"odd methods", func() string {
			return "OPTIONS /plain HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\n\r\n" + "get /plain HTTP/1.1\r\nHost: gw\r\n\r\n"
		}, []string{"OPTIONS", "GET"}},
		{"http/2 preface", func() string { return "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" }, []string{"GET"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := func(addr string) ([]wireAnswer, bool, []string) {
				n := up.count()
				answers, closed := exchange(t, addr, tc.data(), tc.methods)
				time.Sleep(20 * time.Millisecond) // let the upstream record what it got
				return answers, closed, up.since(n)
			}
			fa, fclosed, fseen := run(fastAddr)
			sa, sclosed, sseen := run(slowAddr)
			if !slices.Equal(fseen, sseen) {
				t.Errorf("the upstream saw\n%s\n\nfrom the fast server, and\n%s\n\nfrom net/http", strings.Join(fseen, "\n--\n"), strings.Join(sseen, "\n--\n"))
			}
			if fmt.Sprint(fa) != fmt.Sprint(sa) {
				t.Errorf("the client got\n%v\n\nfrom the fast server, and\n%v\n\nfrom net/http", fa, sa)
			}
			if fclosed != sclosed {
				t.Errorf("connection closed afterwards: fast server %v, net/http %v", fclosed, sclosed)
			}
		})
	}
}

// startServerGW is startPlainGW with the fast server on or off.
func startServerGW(t *testing.T, yaml, keys string, netHTTPOnly bool) string {
	t.Helper()
	return startGWWith(t, yaml, keys, func(g *Gateway) {
		g.noFastServer = netHTTPOnly
		if !netHTTPOnly && !g.fastServing() {
			t.Fatal("the fast server would not run")
		}
	})
}

// TestFastServerTLSHandOver: over TLS, a request the fast server answers
// and one it hands to net/http on the same connection both reach the
// upstream as https.
func TestFastServerTLSHandOver(t *testing.T) {
	up := newRecordingUpstream(t)
	const secret = "00112233445566778899aabbccddeeff"
	g := startGW(t, gwOpts{yaml: "routes:\n  - prefix: /\n    upstream: __UP__\n", keys: "key001=" + secret + "\n", upstream: "http://" + up.addr})
	if !g.gw.fastServing() {
		t.Fatal("the fast server is off")
	}
	pem, err := os.ReadFile(g.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(g.port), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tok := func() string { return Sign("001", secret, time.Now().Add(30*time.Second)) }
	n := up.count()
	req := "GET /plain HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\n\r\n" +
		"POST /plain HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok() + "\r\nContent-Length: 2\r\n\r\nhi"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, m := range []string{"GET", "POST"} {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "hello" {
			t.Fatalf("%s: %d %q", m, resp.StatusCode, body)
		}
	}
	seen := up.since(n)
	if len(seen) != 2 {
		t.Fatalf("upstream saw %d requests", len(seen))
	}
	for _, s := range seen {
		if !strings.Contains(s, "X-Forwarded-Proto: https") {
			t.Errorf("forwarded without X-Forwarded-Proto: https:\n%s", s)
		}
	}
}

// TestFastServerShutdown: on shutdown an idle keep-alive connection is
// closed, a request in progress is answered in full, and Serve returns.
func TestFastServerShutdown(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = io.WriteString(w, "done")
	}))
	defer up.Close()
	const secret = "00112233445566778899aabbccddeeff"
	dir := t.TempDir()
	kf := filepath.Join(dir, "keys.properties")
	if err := os.WriteFile(kf, []byte("key001="+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "api_gateway:\n  enabled: true\n  insecure_http: true\n  addr: 127.0.0.1:0\n  shutdown_timeout: 10s\n  keys_file: " + kf +
		"\n  routes:\n    - prefix: /\n      upstream: " + up.URL + "\n"
	cfg, err := config.Parse([]byte(doc), dir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg.APIGateway, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(ctx, ln) }()
	get := func(c net.Conn, path string) {
		t.Helper()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\n\r\n", path, Sign("001", secret, time.Now().Add(30*time.Second)))
	}
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	_ = idle.SetDeadline(time.Now().Add(10 * time.Second))
	get(idle, "/quick")
	ibr := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(ibr, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("quick request: %v", err)
	} else {
		_, _ = io.ReadAll(resp.Body)
	}
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_ = busy.SetDeadline(time.Now().Add(10 * time.Second))
	get(busy, "/slow")
	// A connection that has not sent a request yet.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(100 * time.Millisecond) // the slow request is at the upstream
	cancel()
	_ = silent.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("silent connection after shutdown began: %v, want EOF", err)
	}
	// The idle connection is closed (not left to time out).
	_ = idle.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := ibr.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection after shutdown began: %v, want EOF", err)
	}
	// Serve waits for the request in progress.
	select {
	case err := <-errc:
		t.Fatalf("Serve returned (%v) with a request in progress", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("request in progress cut: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "done" {
		t.Fatalf("request in progress: %d %q", resp.StatusCode, body)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("still accepting after shutdown")
	}
}
