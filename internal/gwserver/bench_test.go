package gwserver

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkFastServer: one keep-alive connection, a ping-sized request
// and answer per iteration (the server's share of a gateway's work).
func BenchmarkFastServer(b *testing.B) {
	for _, fast := range []bool{true, false} {
		name := "fast"
		if !fast {
			name = "net-http"
		}
		b.Run(name, func(b *testing.B) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Api-Version", "1.43")
				w.Header().Set("Content-Length", "2")
				io.WriteString(w, "OK")
			})
			dial := startServer(b, h, false, fast)
			c := dial(b)
			br := bufio.NewReader(c)
			req := "GET /_ping HTTP/1.1\r\nHost: gw\r\nUser-Agent: Docker-Client/24.0.7 (linux)\r\nAuthorization: Bearer " + strings.Repeat("t", 47) + "\r\n\r\n"
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := io.WriteString(c, req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
