package engine_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestClientGoneEndsSilentStream: a client that leaves a stream with
// nothing to say (`docker logs -f` of a quiet container, an event
// stream), before or after its header, ends the daemon request too:
// the gateway does not hold a daemon connection for a client that is gone.
func TestClientGoneEndsSilentStream(t *testing.T) {
	up := startHeaderUpstream(t, time.Minute)
	for _, netHTTPOnly := range []bool{false, true} {
		addr, tok := startPlainGatewayWith(t, "http://"+up.ln.Addr().String(), netHTTPOnly)
		for _, path := range []string{"/silent", "/silent?header=1"} {
			t.Run(fmt.Sprintf("net/http only=%v %s", netHTTPOnly, path), func(t *testing.T) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				n := up.count()
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\n\r\n", path, tok)
				for deadline := time.Now().Add(10 * time.Second); up.count() == n; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the request did not reach the daemon")
					}
				}
				time.Sleep(100 * time.Millisecond)
				c.Close()
				select {
				case <-up.gone:
				case <-time.After(10 * time.Second):
					t.Fatal("the daemon request outlived its client")
				}
			})
		}
	}
}

// TestFastServerMatchesNetHTTP sends the same bytes to a gateway whose
// plain requests the fast server reads and to one where net/http reads
// everything, and compares what the client and the daemon get.
func TestFastServerMatchesNetHTTP(t *testing.T) {
	tok := strings.Repeat("f0rw4rd", 6)
	auth := "Authorization: Bearer " + tok + "\r\n"
	cases := []struct {
		name, data string
		methods    []string
	}{
		{"ping", "GET /_ping HTTP/1.1\r\nHost: gw\r\n" + auth + "\r\n", []string{"GET"}},
		{"head", "HEAD /v1.41/_ping HTTP/1.1\r\nHost: gw\r\n" + auth + "\r\n", []string{"HEAD"}},
		{"soajs header", "GET /v1.41/containers/json?all=1&filters=%7B%7D HTTP/1.1\r\nHost: gw\r\nToken: " + tok + "\r\nX-Registry-Auth: e30=\r\n\r\n", []string{"GET"}},
		{"no token", "GET /_ping HTTP/1.1\r\nHost: gw\r\n\r\n", []string{"GET"}},
		{"wrong token", "GET /_ping HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer nope\r\n\r\n", []string{"GET"}},
		{"two tokens", "GET /_ping HTTP/1.1\r\nHost: gw\r\n" + auth + auth + "\r\n", []string{"GET"}},
		{"dot segments", "GET /v1.41/containers/../images/json HTTP/1.1\r\nHost: gw\r\n" + auth + "\r\n", []string{"GET"}},
		{"encoded slash", "GET /v1.41/containers/a%2Fb/json HTTP/1.1\r\nHost: gw\r\n" + auth + "\r\n", []string{"GET"}},
		{"http/1.0", "GET /_ping HTTP/1.0\r\n" + auth + "\r\n", []string{"GET"}},
		{"http/1.0 keep-alive", "GET /_ping HTTP/1.0\r\nConnection: keep-alive\r\n" + auth + "\r\nGET /_ping HTTP/1.0\r\n" + auth + "\r\n", []string{"GET", "GET"}},
		{"close", "GET /_ping HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n" + auth + "\r\n", []string{"GET"}},
		{"hop headers", "GET /_ping HTTP/1.1\r\nHost: gw\r\nConnection: X-Private\r\nX-Private: 1\r\nProxy-Authorization: Basic eA==\r\n" + auth + "\r\n", []string{"GET"}},
		{"pipelined then body", "GET /_ping HTTP/1.1\r\nHost: gw\r\n" + auth + "\r\nPOST /v1.41/volumes/create HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n" + auth + "\r\n{}GET /_ping HTTP/1.1\r\nHost: gw\r\n" + auth + "\r\n", []string{"GET", "POST", "GET"}},
		{"cut stream", "GET /cut HTTP/1.1\r\nHost: gw\r\n" + auth + "\r\n", []string{"GET"}},
		{"no host", "GET /_ping HTTP/1.1\r\n" + auth + "\r\n", []string{"GET"}},
		{"bare LF", "GET /_ping HTTP/1.1\nHost: gw\n" + auth[:len(auth)-2] + "\n\n", []string{"GET"}},
		{"garbage", "GET\r\n\r\n", []string{"GET"}},
	}
	up := startHeaderUpstream(t, time.Minute)
	fast, _ := startPlainGatewayWith(t, "http://"+up.ln.Addr().String(), false)
	std, _ := startPlainGatewayWith(t, "http://"+up.ln.Addr().String(), true)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got [2]string
			for i, addr := range []string{fast, std} {
				n := up.count()
				got[i] = exchange(t, addr, tc.data, tc.methods) + "\ndaemon saw:\n" + up.dumpSince(n)
			}
			if got[0] != got[1] {
				t.Fatalf("fast server:\n%s\n\nnet/http:\n%s", got[0], got[1])
			}
		})
	}
}

// exchange writes data on a new connection and describes the answers to
// methods, then whether the connection was closed.
func exchange(t *testing.T, addr, data string, methods []string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, data); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var b strings.Builder
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			fmt.Fprintf(&b, "read error: %v\n", err)
			return b.String()
		}
		body, err := io.ReadAll(resp.Body)
		fmt.Fprintf(&b, "%d te=%v cl=%d close=%v\n%s\nbody %q err %v\n", resp.StatusCode, resp.TransferEncoding,
			resp.ContentLength, resp.Close, strings.Join(testenv.HeaderLines(resp.Header, "Date"), "\n"), body, err)
		if err != nil {
			return b.String()
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = br.ReadByte()
	fmt.Fprintf(&b, "then: closed=%v", err == io.EOF)
	return b.String()
}
