package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/engine"
	"github.com/portcullis/portcullis/internal/testenv"
)

// headerUpstream is a stand-in daemon on loopback HTTP that records the
// headers of what the gateway forwards; dockerd does not echo them.
type headerUpstream struct {
	mu   sync.Mutex
	seen []http.Header
	ln   net.Listener
	srv  *http.Server
	gone chan struct{} // a /silent request ended by the gateway
}

func startHeaderUpstream(t *testing.T, idle time.Duration) *headerUpstream {
	t.Helper()
	u := &headerUpstream{gone: make(chan struct{}, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		h := r.Header.Clone()
		h.Set("X-Seen-Host", r.Host)
		u.seen = append(u.seen, h)
		u.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "must not pass")
		switch r.URL.Path {
		case "/silent":
			// A stream with nothing to say (logs -f of a quiet
			// container): it ends when the gateway lets go. Its
			// header comes at once with ?header=1, else not at all.
			if r.URL.Query().Get("header") != "" {
				w.(http.Flusher).Flush()
			}
			select {
			case <-r.Context().Done():
				u.gone <- struct{}{}
			case <-time.After(20 * time.Second):
			}
			return
		case "/cut":
			// A stream that dies after its header and a first chunk.
			w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
			c, _, _ := http.NewResponseController(w).Hijack()
			c.Close()
		default:
			w.Write([]byte("OK"))
		}
	})
	var err error
	u.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.srv = &http.Server{Handler: mux, IdleTimeout: idle, ReadHeaderTimeout: 5 * time.Second}
	go u.srv.Serve(u.ln)
	t.Cleanup(func() { u.srv.Close() })
	return u
}

func (u *headerUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

// dumpSince lists the headers of the requests after the first n.
func (u *headerUpstream) dumpSince(n int) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var b strings.Builder
	for _, h := range u.seen[n:] {
		b.WriteString(strings.Join(testenv.HeaderLines(h), "\n") + "\n--\n")
	}
	return b.String()
}

func (u *headerUpstream) last(t *testing.T) http.Header {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("nothing reached the upstream")
	}
	return u.seen[len(u.seen)-1]
}

// startPlainGateway runs a plain-HTTP gateway in front of upstream with
// an environment token.
func startPlainGateway(t *testing.T, upstream string) (addr, tok string) {
	t.Helper()
	return startPlainGatewayWith(t, upstream, false)
}

// startPlainGatewayWith is startPlainGateway, with every request on
// net/http's server when netHTTPOnly.
func startPlainGatewayWith(t *testing.T, upstream string, netHTTPOnly bool) (addr, tok string) {
	t.Helper()
	tok = strings.Repeat("f0rw4rd", 6)
	t.Setenv("PCTEST_FORWARD_TOKEN", tok)
	cfg, err := config.Parse(nil, t.TempDir(), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ec := cfg.Engine
	ec.Insecure, ec.TLSCert, ec.TLSKey = true, "", ""
	ec.Upstream = upstream
	ec.TokenEnv = "PCTEST_FORWARD_TOKEN"
	ec.ShutdownTimeout = time.Second
	g, err := engine.New(ec, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if netHTTPOnly {
		engine.SetNetHTTPOnly(g)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String(), tok
}

// TestForwardedHeaders checks, on the direct path (GET, HEAD) and the
// reverse proxy (POST), that the token headers, hop-by-hop headers and
// headers named in Connection never reach the daemon, in either
// direction, and that everything else does.
func TestForwardedHeaders(t *testing.T) {
	up := startHeaderUpstream(t, time.Minute)
	addr, tok := startPlainGateway(t, "http://"+up.ln.Addr().String())
	c := &http.Client{Timeout: 10 * time.Second}
	for _, method := range []string{"GET", "HEAD", "POST"} {
		for _, header := range []string{"Authorization", "Token"} {
			t.Run(method+" "+header, func(t *testing.T) {
				var body io.Reader
				if method == "POST" {
					body = strings.NewReader("{}")
				}
				req, _ := http.NewRequest(method, "http://"+addr+"/v1.41/containers/json?all=1", body)
				if header == "Authorization" {
					req.Header.Set("Authorization", "Bearer "+tok)
				} else {
					req.Header.Set("Token", tok)
				}
				req.Header.Set("X-Registry-Auth", "kept")
				req.Header.Set("Connection", "X-Private")
				req.Header.Set("X-Private", "dropped")
				req.Header.Set("Proxy-Authorization", "Basic eA==")
				req.Header.Set("X-Forwarded-For", "10.9.9.9")
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || (method != "HEAD" && string(b) != "OK") {
					t.Fatalf("%d %q", resp.StatusCode, b)
				}
				if resp.Header.Get("X-Hop") != "" || resp.Header.Get("Api-Version") != "1.41" {
					t.Fatalf("response headers: %v", resp.Header)
				}
				h := up.last(t)
				for _, k := range []string{"Authorization", "Token", "X-Private", "Proxy-Authorization", "X-Forwarded-For"} {
					if v := h.Get(k); v != "" {
						t.Errorf("%s reached the daemon: %q", k, v)
					}
				}
				if h.Get("X-Registry-Auth") != "kept" {
					t.Errorf("X-Registry-Auth was not forwarded: %v", h)
				}
				if strings.Contains(strings.Join(h.Values("X-Seen-Host"), ""), tok) {
					t.Error("token in Host")
				}
			})
		}
	}
}

// TestDirectPathConnections checks that a pooled connection the daemon
// closed while idle is replaced without the client noticing, and that a
// stream cut by the daemon is cut for the client too (not ended cleanly).
func TestDirectPathConnections(t *testing.T) {
	up := startHeaderUpstream(t, 50*time.Millisecond)
	addr, tok := startPlainGateway(t, "http://"+up.ln.Addr().String())
	c := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (*http.Response, string, error) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}
	for i := 0; i < 3; i++ {
		if resp, body, err := get("/_ping"); err != nil || resp.StatusCode != 200 || body != "OK" {
			t.Fatalf("request %d: %v %q", i, err, body)
		}
		time.Sleep(150 * time.Millisecond) // the daemon closes the idle connection
	}
	if _, body, err := get("/cut"); err == nil {
		t.Fatalf("a stream the daemon cut ended cleanly for the client: %q", body)
	}
}

// TestDirectPathConcurrent sends bodiless requests from many clients at
// once over pooled daemon connections (run under -race).
func TestDirectPathConcurrent(t *testing.T) {
	up := startHeaderUpstream(t, time.Minute)
	addr, tok := startPlainGateway(t, "http://"+up.ln.Addr().String())
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	c := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				req, _ := http.NewRequest("GET", "http://"+addr+"/_ping", nil)
				req.Header.Set("Token", tok)
				resp, err := c.Do(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != "OK" {
					errs <- fmt.Errorf("%d %q", resp.StatusCode, b)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	up.mu.Lock()
	n := len(up.seen)
	up.mu.Unlock()
	if n != 800 {
		t.Fatalf("the daemon saw %d requests, want 800", n)
	}
}

// TestRefusalDoesNotWaitForBody checks that a refused request whose body
// never arrives is answered at once and its connection closed: net/http
// would otherwise read the unread body (with no deadline once the headers
// are in) before sending the refusal, so a client without a token could
// hold a connection and a goroutine for as long as it liked.
func TestRefusalDoesNotWaitForBody(t *testing.T) {
	up := startHeaderUpstream(t, time.Minute)
	addr, _ := startPlainGateway(t, "http://"+up.ln.Addr().String())
	for _, tt := range []struct{ name, framing string }{
		{"content-length", "Content-Length: 1000\r\n"},
		{"chunked", "Transfer-Encoding: chunked\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s\r\n", tt.framing)
			if tt.framing[0] == 'T' {
				io.WriteString(c, "5\r\n{\"a\":\r\n")
			} else {
				io.WriteString(c, `{"Image":`)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no refusal while the body is pending: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
				t.Fatalf("status %d, close %v; want 401 and the connection closed", resp.StatusCode, resp.Close)
			}
		})
	}
}

// TestInsecureHTTPWarns checks that a gateway without TLS says so in its
// log, as the main server does for server.insecure_http.
func TestInsecureHTTPWarns(t *testing.T) {
	cfg, err := config.Parse(nil, t.TempDir(), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ec := cfg.Engine
	ec.Insecure, ec.TLSCert, ec.TLSKey = true, "", ""
	ec.Upstream, ec.TokenEnv = "http://127.0.0.1:1", "-"
	var logs testenv.Buffer
	g, err := engine.New(ec, nil, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "engine gateway listening") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "engine.insecure_http") {
		t.Fatalf("no warning about plain HTTP:\n%s", logs.String())
	}
}
