package apigw

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// gatedReader sends first bytes of body, then waits for gate before the
// rest: a proxy that buffers the body before forwarding never lets the
// gate open.
type gatedReader struct {
	first, rest []byte
	gate        <-chan struct{}
	opened      bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if len(g.first) > 0 {
		n := copy(p, g.first)
		g.first = g.first[n:]
		return n, nil
	}
	if !g.opened {
		select {
		case <-g.gate:
			g.opened = true
		case <-time.After(10 * time.Second):
			return 0, errors.New("the upstream never received the first part: the body was held back")
		}
	}
	if len(g.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	return n, nil
}

// TestStreamingIsNotBuffered checks that bodies stream both ways through
// the gateway rather than arriving whole: the upstream must see the first
// part of an upload (chunked and with a Content-Length) before the client
// sends the rest, and the client must see the first part of a download
// (with a Content-Length, and chunked) before the upstream sends the rest.
func TestStreamingIsNotBuffered(t *testing.T) {
	testenv.Integration(t)
	const part = 64 << 10
	gotFirst := make(chan struct{}, 1)  // upstream -> client: first upload part arrived
	clientSaw := make(chan struct{}, 1) // client -> upstream: first download part arrived
	mux := http.NewServeMux()
	mux.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, part)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		gotFirst <- struct{}{}
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d", int64(part)+n)
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(2*part))
		}
		_, _ = w.Write(make([]byte, part))
		_ = http.NewResponseController(w).Flush()
		select {
		case <-clientSaw:
		case <-time.After(10 * time.Second):
			return // the client never saw the first part: cut short
		}
		_, _ = w.Write(make([]byte, part))
	})
	up := httptest.NewServer(mux)
	t.Cleanup(up.Close)
	g := startGW(t, gwOpts{yaml: seedRouteYAML + "rate_limit: {disabled: true}\n", keys: "key001=" + seedKey001 + "\n", upstream: up.URL})
	pem, err := os.ReadFile(g.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(c.CloseIdleConnections)

	for _, sized := range []bool{false, true} {
		t.Run("upload sized="+strconv.FormatBool(sized), func(t *testing.T) {
			body := &gatedReader{first: make([]byte, part), rest: make([]byte, 3*part), gate: gotFirst}
			req, _ := http.NewRequestWithContext(context.Background(), "PUT", g.url+"/up", body)
			if sized {
				req.ContentLength = 4 * part
			}
			req.Header.Set("Authorization", "Bearer "+fresh("001", seedKey001, 10*time.Second))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(b) != strconv.Itoa(4*part) {
				t.Fatalf("got %d %q", resp.StatusCode, b)
			}
		})
		t.Run("download chunked="+strconv.FormatBool(sized), func(t *testing.T) {
			path := "/down"
			if sized {
				path += "?chunked=1"
			}
			req, _ := http.NewRequest("GET", g.url+path, nil)
			req.Header.Set("Authorization", "Bearer "+fresh("001", seedKey001, 10*time.Second))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			if _, err := io.ReadFull(br, make([]byte, part)); err != nil {
				t.Fatalf("first part: %v", err)
			}
			clientSaw <- struct{}{}
			n, err := io.Copy(io.Discard, br)
			if err != nil || n != part {
				t.Fatalf("rest: %d bytes, %v (the first part was held until the upstream gave up)", n, err)
			}
		})
	}
}
