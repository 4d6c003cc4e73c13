package apigw

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStreamIdleTimeout: with stream_idle_timeout 1s, a stream that stops
// moving is cut instead of holding its connections for good: an upstream
// that stalls in the middle of a body (on the fast path and through
// ReverseProxy), a client that stops reading an endless download, and an
// upload that stops half-way.
func TestStreamIdleTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	// What the upstream handlers saw at their end.
	endlessEnded, uploadEnded := make(chan error, 8), make(chan error, 8)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stall":
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/endless":
			chunk := []byte(strings.Repeat("x", 64<<10))
			var err error
			for n := 0; n < 1<<14 && err == nil; n++ { // at most 1 GiB
				_, err = w.Write(chunk)
			}
			endlessEnded <- err
		case "/upload":
			_, err := io.Copy(io.Discard, r.Body)
			uploadEnded <- err
		}
	}))
	defer up.Close()
	const secret = "00112233445566778899aabbccddeeff"
	addr := startGWWith(t, "stream_idle_timeout: 1s\nroutes:\n  - prefix: /\n    upstream: "+up.URL+"\n", "key001="+secret+"\n", func(*Gateway) {})
	tok := func() string { return Sign("001", secret, time.Now().Add(30*time.Second)) }
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		return c
	}

	for _, method := range []string{"GET", "POST"} { // fast path, ReverseProxy
		t.Run("upstream stalls, "+method, func(t *testing.T) {
			c := dial()
			defer c.Close()
			start := time.Now()
			fmt.Fprintf(c, "%s /stall HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n\r\n", method, tok())
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if err == nil || string(body) != "12345" {
				t.Fatalf("body %q, error %v: want the first half, then the stream cut", body, err)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Fatalf("cut after %s", d)
			}
		})
	}
	t.Run("client stops reading", func(t *testing.T) {
		c := dial()
		defer c.Close()
		fmt.Fprintf(c, "GET /endless HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\n\r\n", tok())
		select {
		case err := <-endlessEnded:
			if err == nil {
				t.Fatal("the upstream wrote 1 GiB into a connection nobody reads")
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the gateway still holds a download nobody reads")
		}
	})
	t.Run("upload stops", func(t *testing.T) {
		c := dial()
		defer c.Close()
		fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n0123456789", tok())
		select {
		case err := <-uploadEnded:
			if err == nil {
				t.Fatal("the upstream read a whole body from an upload that stopped")
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the gateway still waits for an upload that stopped")
		}
	})
}
