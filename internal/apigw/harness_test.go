package apigw

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
)

// echoed is what the test upstream answers on every ordinary path.
type echoed struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Auth   string `json:"auth"`
	KeyID  string `json:"key_id"`
	Groups string `json:"groups"`
	// Aliased lists the other spellings of Authorization and the identity
	// headers the upstream received (underscores for hyphens), which
	// CGI-style upstreams take for the real ones.
	Aliased string `json:"aliased,omitempty"`
}

// newUpstream starts the real HTTP server the gateway forwards to.
func newUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range n {
			fmt.Fprintf(w, "id: %d\ndata: event %d\n\n", i, i)
			if err := rc.Flush(); err != nil {
				return
			}
			if i == 0 {
				// The first event must reach the client before the
				// stream ends: wait until it says so.
				select {
				case <-sseAck:
				case <-time.After(10 * time.Second):
					return
				}
			}
		}
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d %s", n, hex.EncodeToString(h.Sum(nil)))
	})
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.Copy(w, io.LimitReader(detRand(7), n))
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Key-Id: " + r.Header.Get("X-Portcullis-Key-Id") + "\r\nX-Auth: " + r.Header.Get("Authorization") + "\r\n\r\n")
		_ = brw.Flush()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(conn, brw) // echo until the client closes
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{
			Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"),
			KeyID: r.Header.Get("X-Portcullis-Key-Id"), Groups: r.Header.Get("X-Portcullis-Key-Groups"),
			Aliased: aliasedHeaders(r.Header),
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

var sseAck = make(chan struct{}, 1)

// detRand is a deterministic byte stream, generated on the fly.
func detRand(seed uint64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

// testGW is a running gateway.
type testGW struct {
	gw     *Gateway
	url    string // https://127.0.0.1:PORT
	port   int
	caFile string
	client *http.Client
	logs   *testenv.Buffer
	reg    *prometheus.Registry
	dir    string
}

type gwOpts struct {
	// yaml is the api_gateway section below "enabled"; __UP__ is the
	// upstream URL and __DIR__ the data directory.
	yaml string
	// keys is the keys.properties content.
	keys     string
	dir      string
	upstream string
	deps     Deps
	// tune, if set, sees the gateway before it serves.
	tune func(*Gateway)
}

func startGW(t *testing.T, o gwOpts) *testGW {
	t.Helper()
	dir := o.dir
	if dir == "" {
		dir = t.TempDir()
	}
	if o.keys != "" {
		if err := os.WriteFile(filepath.Join(dir, "keys.properties"), []byte(o.keys), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	y := strings.NewReplacer("__UP__", o.upstream, "__DIR__", dir).Replace(o.yaml)
	doc := "api_gateway:\n  enabled: true\n  addr: 127.0.0.1:0\n  hosts: [localhost, 127.0.0.1]\n  keys_file: " + filepath.Join(dir, "keys.properties") + "\n" + indent(y)
	cfg, err := config.Parse([]byte(doc), dir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config:\n%s\n%v", doc, err)
	}
	logs := &testenv.Buffer{}
	reg := prometheus.NewRegistry()
	d := o.deps
	d.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d.Registerer = reg
	g, err := New(cfg.APIGateway, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if o.tune != nil {
		o.tune(g)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", tail(logs.String(), 4000))
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	tg := &testGW{gw: g, port: port, url: "https://127.0.0.1:" + strconv.Itoa(port), logs: logs, reg: reg, dir: dir}
	if cfg.APIGateway.Insecure {
		tg.url = "http://127.0.0.1:" + strconv.Itoa(port)
		tg.client = &http.Client{Timeout: 30 * time.Second}
	} else {
		tg.caFile = cfg.APIGateway.TLSCert
		if err := waitFile(tg.caFile); err != nil {
			t.Fatal(err)
		}
		pem, err := os.ReadFile(tg.caFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tg.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16,
		}}
	}
	t.Cleanup(tg.client.CloseIdleConnections)
	return tg
}

func waitFile(p string) error {
	for range 200 {
		if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New(p + " never appeared")
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l != "" {
			b.WriteString("  " + l)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// answer is a gateway answer as a client sees it.
type answer struct {
	status int
	header http.Header
	body   []byte
	reason Reason
	echo   echoed
}

// do sends method path with "Authorization: Bearer tok" (none if tok is "").
func (g *testGW) do(t *testing.T, method, path, tok string) answer {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return g.send(t, req)
}

func (g *testGW) send(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := g.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: body}
	var r refusal
	if resp.StatusCode >= 400 && json.Unmarshal(body, &r) == nil {
		a.reason = r.Reason
	}
	if resp.StatusCode == 200 {
		_ = json.Unmarshal(body, &a.echo)
	}
	return a
}

// want fails unless a has status and reason.
func (a answer) want(t *testing.T, status int, reason Reason) {
	t.Helper()
	if a.status != status || a.reason != reason {
		t.Fatalf("got %d %q, want %d %q; body %s", a.status, a.reason, status, reason, a.body)
	}
	if status >= 400 && a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("refusal without a JSON body: %q", a.header.Get("Content-Type"))
	}
}

// fresh signs a token for id valid for ttl from now.
func fresh(id, key string, ttl time.Duration) string { return Sign(id, key, time.Now().Add(ttl)) }

func benchGateway(b *testing.B, dir, upstream string) *Gateway {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, "keys.properties"), []byte("key001="+seedKey001+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	doc := "api_gateway:\n  enabled: true\n  insecure_http: true\n  keys_file: " + filepath.Join(dir, "keys.properties") +
		"\n  rate_limit: {per_second: 1000000000}\n  routes:\n    - prefix: /\n      upstream: " + upstream + "\n"
	cfg, err := config.Parse([]byte(doc), dir, func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(cfg.APIGateway, Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// aliasedHeaders names the headers of h that are not Authorization or an
// identity header but read as one once '_' is taken for '-'.
func aliasedHeaders(h http.Header) string {
	var out []string
	for k := range h {
		switch k {
		case "Authorization", "X-Portcullis-Key-Id", "X-Portcullis-Key-Groups":
			continue
		}
		switch strings.ToLower(strings.ReplaceAll(k, "_", "-")) {
		case "authorization", "x-portcullis-key-id", "x-portcullis-key-groups":
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}
