package apigw

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

const streamSize = 1 << 30 // 1 GiB each way

func streamClient(t *testing.T, g *testGW) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(g.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ResponseHeaderTimeout: 60 * time.Second}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// TestStreamingGiB sends 1 GiB up and 1 GiB down through the TLS gateway,
// generated on the fly and checked with SHA-256 at both ends.
func TestStreamingGiB(t *testing.T) {
	testenv.Integration(t)
	up := newUpstream(t)
	g := startGW(t, gwOpts{yaml: seedRouteYAML, keys: "key001=" + seedKey001 + "\n", upstream: up.URL})
	c := streamClient(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	t.Run("upload", func(t *testing.T) {
		sent := sha256.New()
		body := io.TeeReader(io.LimitReader(detRand(3), streamSize), sent)
		req, _ := http.NewRequestWithContext(ctx, "POST", g.url+"/upload", io.NopCloser(body))
		req.Header.Set("Authorization", "Bearer "+fresh("001", seedKey001, 10*time.Second))
		resp, err := c.Do(req) // chunked: no Content-Length
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		want := fmt.Sprintf("%d %s", streamSize, hex.EncodeToString(sent.Sum(nil)))
		if resp.StatusCode != 200 || string(got) != want {
			t.Fatalf("upstream received %d %q, want %q", resp.StatusCode, got, want)
		}
	})
	t.Run("download", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/download?n=%d", g.url, streamSize), nil)
		req.Header.Set("Authorization", "Bearer "+fresh("001", seedKey001, 10*time.Second))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got := sha256.New()
		n, err := io.Copy(got, resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("download: %d, %d bytes, %v", resp.StatusCode, n, err)
		}
		want := sha256.New()
		_, _ = io.Copy(want, io.LimitReader(detRand(7), streamSize))
		if n != streamSize || hex.EncodeToString(got.Sum(nil)) != hex.EncodeToString(want.Sum(nil)) {
			t.Fatalf("downloaded %d bytes with another checksum", n)
		}
	})
}

// TestServerSentEvents checks that events pass one by one: the upstream
// sends the rest only after the client has seen the first.
func TestServerSentEvents(t *testing.T) {
	testenv.Integration(t)
	up := newUpstream(t)
	g := startGW(t, gwOpts{yaml: seedRouteYAML, keys: "key001=" + seedKey001 + "\n", upstream: up.URL})
	c := streamClient(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.url+"/sse?n=50", nil)
	req.Header.Set("Authorization", "Bearer "+fresh("001", seedKey001, 10*time.Second))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	var events []string
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			events = append(events, strings.TrimSpace(d))
			if len(events) == 1 {
				sseAck <- struct{}{}
			}
		}
	}
	if len(events) != 50 || events[0] != "event 0" || events[49] != "event 49" {
		t.Fatalf("got %d events: %q", len(events), events)
	}
}

// TestWebsocketUpgrade checks that an upgraded connection passes both ways.
func TestWebsocketUpgrade(t *testing.T) {
	testenv.Integration(t)
	up := newUpstream(t)
	g := startGW(t, gwOpts{yaml: seedRouteYAML, keys: "key001=" + seedKey001 + "\n", upstream: up.URL})
	pem, _ := os.ReadFile(g.caFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", g.url[len("https://"):], &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer %s\r\n\r\n", fresh("001", seedKey001, 10*time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("X-Key-Id") != "001" {
		t.Fatalf("got %d, key id %q", resp.StatusCode, resp.Header.Get("X-Key-Id"))
	}
	if a := resp.Header.Get("X-Auth"); a != "" {
		t.Fatalf("the upgrade reached the upstream with Authorization %q", a)
	}
	for _, msg := range []string{"hello\n", "again\n"} {
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
		got, err := br.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("echo %q, %v", got, err)
		}
	}
}

// TestClientGoneEndsSilentStream: a client that leaves a server-sent
// events stream with nothing to send ends the upstream request too, on
// the fast server and on net/http.
func TestClientGoneEndsSilentStream(t *testing.T) {
	testenv.Integration(t)
	started, gone := make(chan struct{}, 1), make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			gone <- struct{}{}
		case <-time.After(20 * time.Second):
		}
	}))
	t.Cleanup(up.Close)
	for _, netHTTPOnly := range []bool{false, true} {
		t.Run(fmt.Sprint("net/http only=", netHTTPOnly), func(t *testing.T) {
			g := startGW(t, gwOpts{yaml: seedRouteYAML, keys: "key001=" + seedKey001 + "\n", upstream: up.URL,
				tune: func(g *Gateway) { g.noFastServer = netHTTPOnly }})
			if g.gw.fastServing() == netHTTPOnly {
				t.Fatal("the fast server is not as asked")
			}
			c := streamClient(t, g)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", g.url+"/events", nil)
			req.Header.Set("Authorization", "Bearer "+fresh("001", seedKey001, 10*time.Second))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			<-started
			time.Sleep(100 * time.Millisecond)
			cancel() // the client closes its connection
			select {
			case <-gone:
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream request outlived its client")
			}
		})
	}
}
