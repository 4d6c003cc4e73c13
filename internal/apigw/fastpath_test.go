package apigw

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recordingUpstream is a raw HTTP/1.1 upstream: it records each request
// as it arrived and answers with the canned raw answer named by the
// request path's last segment.
type recordingUpstream struct {
	addr string
	mu   sync.Mutex
	seen []string // each request's line and sorted header lines
}

var cannedAnswers = map[string]string{
	"plain": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: X-Hop\r\nX-Hop: dropped\r\n" +
		"Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\nX-Keep: kept\r\nX-Multi: a\r\nX-Multi: b\r\n\r\nhello",
	"trailers": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
		"3\r\nabc\r\n3\r\ndef\r\n0\r\nX-Sum: 42\r\nX-Late: 7\r\n\r\n",
	"announced": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
		"2\r\nab\r\n0\r\nX-Sum: 42\r\n\r\n",
	"early": "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
	"sse": "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n",
	"empty":       "HTTP/1.1 204 No Content\r\nX-Keep: kept\r\n\r\n",
	"garbage":     "NOT HTTP AT ALL\r\n\r\n",
	"notmodified": "HTTP/1.1 304 Not Modified\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\n",
	"notfound":    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
	"head":        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Keep: kept\r\n\r\n",
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &recordingUpstream{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(c)
		}
	}()
	return u
}

func (u *recordingUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		lines := make([]string, 0, len(req.Header)+2)
		for k, vv := range req.Header {
			for _, v := range vv {
				lines = append(lines, k+": "+v)
			}
		}
		slices.Sort(lines)
		lines = append([]string{req.Method + " " + req.RequestURI + " " + req.Proto, "Host: " + req.Host}, lines...)
		if len(body) > 0 {
			lines = append(lines, "body: "+string(body))
		}
		u.mu.Lock()
		u.seen = append(u.seen, strings.Join(lines, "\n"))
		u.mu.Unlock()
		name := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
		answer, ok := cannedAnswers[name]
		if !ok {
			answer = cannedAnswers["plain"]
		}
		if _, err := io.WriteString(c, answer); err != nil {
			return
		}
	}
}

// since returns the requests seen after the first n.
func (u *recordingUpstream) since(n int) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.seen[min(n, len(u.seen)):])
}

func (u *recordingUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

func (u *recordingUpstream) last(t *testing.T) string {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("the upstream saw no request")
	}
	return u.seen[len(u.seen)-1]
}

// startPlainGW starts an HTTP gateway on yaml (routes etc.); with noFast
// every request takes the route's ReverseProxy (and net/http).
func startPlainGW(t *testing.T, yaml, keys string, noFast bool) (addr string) {
	t.Helper()
	return startGWWith(t, yaml, keys, func(g *Gateway) {
		fast := 0
		for _, r := range g.routes {
			if r.fast != nil {
				fast++
			}
			if noFast {
				r.fast = nil
			}
		}
		if fast == 0 {
			t.Fatal("no route has the fast path")
		}
	})
}

// startGWWith starts an HTTP gateway on yaml after tune has seen it.
func startGWWith(t *testing.T, yaml, keys string, tune func(*Gateway)) (addr string) {
	t.Helper()
	g := startGW(t, gwOpts{yaml: "insecure_http: true\n" + yaml, keys: keys, tune: tune})
	return "127.0.0.1:" + strconv.Itoa(g.port)
}

// rawAnswer is what a client read: informational answers, then the
// final one with its body and trailers.
type rawAnswer struct {
	interim []string
	status  int
	header  []string
	body    string
	trailer []string
}

func (a rawAnswer) String() string {
	return fmt.Sprintf("interim %q\nstatus %d\nheader %q\nbody %q\ntrailer %q", a.interim, a.status, a.header, a.body, a.trailer)
}

// rawRequest sends req verbatim on a new connection and reads the answer.
func rawRequest(t *testing.T, addr, req string) rawAnswer {
	t.Helper()
	_, br := dialAndWrite(t, addr, req)
	method, _, _ := strings.Cut(req, " ")
	w := readAnswers(br, []string{method})[0]
	if w.status == -1 {
		t.Fatalf("reading the answer to %q: %s", req, w.body)
	}
	if strings.HasPrefix(w.body, "read error: ") {
		t.Fatalf("reading the body of the answer to %q: %s", req, w.body)
	}
	return rawAnswer{interim: w.interim, status: w.status, header: w.header, body: w.body, trailer: w.trailer}
}

// TestFastPathMatchesReverseProxy sends the same requests through a
// gateway on its fast path and through one whose routes all take
// httputil.ReverseProxy, and checks that the upstream saw the same
// request and the client the same answer, byte for byte in meaning.
func TestFastPathMatchesReverseProxy(t *testing.T) {
	up := newRecordingUpstream(t)
	const secret = "00112233445566778899aabbccddeeff"
	keys := `kapi_id="001";kapi_key="` + secret + `";kapi_groups="admin,watcher"` + "\n"
	yaml := "key_id_header: X-Portcullis-Key-Id\ngroups_header: X-Portcullis-Groups\nroutes:\n" +
		"  - prefix: /v0\n    strip_prefix: true\n    upstream: http://" + up.addr + "/base/\n" +
		"  - prefix: /\n    upstream: http://" + up.addr + "\n"
	fast := startPlainGW(t, yaml, keys, false)
	slow := startPlainGW(t, yaml, keys, true)

	cases := []struct {
		name, head string
	}{
		{"plain", "GET /v0/plain HTTP/1.1\r\nHost: gw.example\r\n"},
		{"query", "GET /v0/a%20b/plain?x=1&y=%2F&z HTTP/1.1\r\nHost: gw.example\r\n"},
		{"empty query", "GET /plain? HTTP/1.1\r\nHost: gw.example\r\n"},
		{"encoded slash decoded", "GET /v0/a%2Fb HTTP/1.1\r\nHost: gw.example\r\n"},
		{"root of prefix", "GET /v0 HTTP/1.1\r\nHost: gw.example\r\n"},
		{"semicolon query", "GET /plain?a=1;b=2 HTTP/1.1\r\nHost: gw.example\r\n"},
		{"bad escape query", "GET /plain?a=%zz HTTP/1.1\r\nHost: gw.example\r\n"},
		{"forwarding headers", "GET /plain HTTP/1.1\r\nHost: gw.example\r\nX-Forwarded-For: 10.9.9.9\r\n" +
			"X-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\nForwarded: for=10.9.9.9\r\n"},
		{"identity spoofing", "GET /plain HTTP/1.1\r\nHost: gw.example\r\nX-Portcullis-Key-Id: root\r\n" +
			"X_Portcullis_Key_Id: root\r\nx-portcullis-groups: admin\r\nX_PORTCULLIS_GROUPS: admin\r\nHTTP_AUTHORIZATION: x\r\nAuthorization_: y\r\n"},
		{"hop headers", "GET /plain HTTP/1.1\r\nHost: gw.example\r\nKeep-Alive: 5\r\nProxy-Authorization: Basic eA==\r\n" +
			"Proxy-Connection: keep-alive\r\nTe: trailers, deflate\r\n"},
		{"te without trailers", "GET /plain HTTP/1.1\r\nHost: gw.example\r\nTE: gzip\r\n"},
		{"user agents", "GET /plain HTTP/1.1\r\nHost: gw.example\r\nUser-Agent: first\r\nUser-Agent: second\r\n" +
			"Accept: a\r\nAccept: b\r\nX-Empty:\r\nContent-Length: 0\r\n"},
		{"http/1.0", "GET /plain HTTP/1.0\r\n"},
		{"head", "HEAD /head HTTP/1.1\r\nHost: gw.example\r\n"},
		{"trailers", "GET /trailers HTTP/1.1\r\nHost: gw.example\r\nTE: trailers\r\n"},
		{"announced trailers", "GET /announced HTTP/1.1\r\nHost: gw.example\r\n"},
		{"early hints", "GET /early HTTP/1.1\r\nHost: gw.example\r\n"},
		{"event stream", "GET /sse HTTP/1.1\r\nHost: gw.example\r\nAccept: text/event-stream\r\n"},
		{"no content", "GET /empty HTTP/1.1\r\nHost: gw.example\r\n"},
		{"upstream 404", "GET /notfound HTTP/1.1\r\nHost: gw.example\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fa, fseen := sendRaw(t, fast, tc.head, secret, up)
			sa, sseen := sendRaw(t, slow, tc.head, secret, up)
			if fseen != sseen {
				t.Errorf("the upstream saw\n%s\n\non the fast path, and\n%s\n\nthrough ReverseProxy", fseen, sseen)
			}
			if fa.String() != sa.String() {
				t.Errorf("the client got\n%v\n\non the fast path, and\n%v\n\nthrough ReverseProxy", fa, sa)
			}
		})
	}
}

var tokenSeq atomic.Int64

// sendRaw sends head with a fresh token on a new connection, and returns the
// answer and the request the upstream saw.
func sendRaw(t *testing.T, addr, head, secret string, up *recordingUpstream) (rawAnswer, string) {
	t.Helper()
	// Tokens of one second are alike: a distinct expiry keeps each new.
	tok := Sign("001", secret, time.Now().Add(5*time.Second+time.Duration(tokenSeq.Add(1)%50)*time.Second))
	a := rawRequest(t, addr, head+"Authorization: Bearer "+tok+"\r\n\r\n")
	if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden {
		t.Fatalf("refused: %v", a)
	}
	return a, up.last(t)
}

// TestFastPathSlowBodies: an answer whose body is not all there yet
// reaches the client as far as it goes: the headers of an idle event
// stream, the first half of a download whose second half is late.
func TestFastPathSlowBodies(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/idle-stream":
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-release
			_, _ = io.WriteString(w, "data: late\n\n")
		case "/slow-download":
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
			<-release
			_, _ = io.WriteString(w, "67890")
		}
	}))
	defer up.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	const secret = "00112233445566778899aabbccddeeff"
	addr := startPlainGW(t, "routes:\n  - prefix: /\n    upstream: "+up.URL+"\n", "key001="+secret+"\n", false)

	for _, tc := range []struct{ path, first string }{
		{"/idle-stream", ""},
		{"/slow-download", "12345"},
	} {
		type result struct {
			resp *http.Response
			err  error
		}
		got := make(chan result, 1)
		go func() {
			req, _ := http.NewRequest("GET", "http://"+addr+tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+Sign("001", secret, time.Now().Add(5*time.Second+time.Duration(tokenSeq.Add(1)%50)*time.Second)))
			resp, err := http.DefaultTransport.RoundTrip(req)
			got <- result{resp, err}
		}()
		var resp *http.Response
		select {
		case r := <-got:
			if r.err != nil {
				t.Fatalf("%s: %v", tc.path, r.err)
			}
			resp = r.resp
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no headers while the upstream holds the rest of the body", tc.path)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", tc.path, resp.StatusCode)
		}
		if tc.first != "" {
			buf := make([]byte, len(tc.first))
			done := make(chan error, 1)
			go func() { _, err := io.ReadFull(resp.Body, buf); done <- err }()
			select {
			case err := <-done:
				if err != nil || string(buf) != tc.first {
					t.Fatalf("%s: first part %q, %v", tc.path, buf, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: the part of the body the upstream sent did not arrive", tc.path)
			}
		}
		resp.Body.Close()
	}
}
