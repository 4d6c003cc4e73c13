package gwserver

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

// echoHandler answers with what it saw of the request; the query picks
// the framing of the answer (declared length, a flushed stream, or
// nothing said).
var echoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	desc := fmt.Sprintf("%s %q %s host=%q close=%v body=%q err=%v\n%s", r.Method, r.URL.String(), r.Proto, r.Host,
		r.Close, body, err != nil, strings.Join(testenv.HeaderLines(withoutConnection(r.Header)), "\n"))
	if strings.Contains(r.URL.RawQuery, "big") {
		desc += strings.Repeat(".", 3000) // past what is held back
	}
	switch q := r.URL.RawQuery; {
	case strings.Contains(q, "cl"):
		w.Header().Set("Content-Length", fmt.Sprint(len(desc)))
	case strings.Contains(q, "flush"):
		w.(http.Flusher).Flush()
	case strings.Contains(q, "204"):
		w.WriteHeader(http.StatusNoContent)
		return
	}
	io.WriteString(w, desc)
})

// exchangeRaw writes data, half-closes, and describes every answer that
// comes back until the connection ends.
func exchangeRaw(t *testing.T, dial func(testing.TB) net.Conn, data []byte) string {
	c := dial(t)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(data); err != nil {
		return "write error"
	}
	_ = c.(*net.TCPConn).CloseWrite()
	methods := requestMethods(data)
	br := bufio.NewReader(c)
	var b strings.Builder
	for i := 0; i < 20; i++ {
		m := "GET"
		if i < len(methods) {
			m = methods[i]
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			if err == io.EOF {
				b.WriteString("EOF")
			} else {
				b.WriteString("unreadable")
			}
			break
		}
		body, err := io.ReadAll(resp.Body)
		fmt.Fprintf(&b, "%s %d te=%v cl=%d close=%v\n%s\nbody %q err=%v\n", resp.Proto, resp.StatusCode, resp.TransferEncoding,
			resp.ContentLength, resp.Close, strings.Join(testenv.HeaderLines(withoutDate(resp.Header)), "\n"), body, err != nil)
		if err != nil {
			break
		}
	}
	return b.String()
}

func withoutDate(h http.Header) http.Header {
	h = h.Clone()
	delete(h, "Date")
	return h
}

// FuzzFastServerMatchesNetHTTP sends the same bytes to a server with the
// fast server and to one without, and compares every answer, so that
// whatever the fast server takes it answers as net/http does.
func FuzzFastServerMatchesNetHTTP(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /x?cl HTTP/1.1\r\nHost: a\r\nX: 1\r\nX: 2\r\n\r\nGET /y?flush HTTP/1.1\r\nHost: a\r\n\r\n",
		"HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /z?204 HTTP/1.0\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b?cl HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\n",
		"HEAD /big HTTP/1.1\r\nHost: a\r\n\r\nHEAD /big?big HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /x?big HTTP/1.0\r\n\r\n",
		"HEAD /x?cl HTTP/1.1\r\nHost: a\r\n\r\nHEAD /x?204 HTTP/1.1\r\nHost: a\r\n\r\nGET /x?big&flush HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	fast := startServer(f, echoHandler, false, true)
	std := startServer(f, echoHandler, false, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8<<10 {
			return
		}
		a, b := exchangeRaw(t, fast, data), exchangeRaw(t, std, data)
		if a != b {
			t.Fatalf("input %q\nfast server:\n%s\nnet/http:\n%s", data, a, b)
		}
	})
}

// withoutConnection drops Connection, which the fast server consumes
// (it only decides keep-alive) and net/http leaves in the header.
func withoutConnection(h http.Header) http.Header {
	h = h.Clone()
	delete(h, "Connection")
	return h
}

// requestMethods lists the methods of the requests in data, as far as
// they can be read: an answer to HEAD has no body to read.
func requestMethods(data []byte) []string {
	var ms []string
	br := bufio.NewReader(strings.NewReader(string(data)))
	for len(ms) < 20 {
		r, err := http.ReadRequest(br)
		if err != nil {
			return ms
		}
		ms = append(ms, r.Method)
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return ms
		}
	}
	return ms
}
