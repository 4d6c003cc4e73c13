package gwserver

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts the writes on the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, writes: l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestTLSStreamGathersRecords: a stream over TLS arrives intact, and its
// 64 KiB pieces leave in one or two writes each, not one per 16 KiB
// record.
func TestTLSStreamGathersRecords(t *testing.T) {
	const piece, pieces = 64 << 10, 64
	data := make([]byte, piece*pieces)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := New(ctx, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/whole" {
			_, _ = w.Write(data) // goes out in gathered pieces of 64 KiB
			return
		}
		for i := 0; i < pieces; i++ {
			if _, err := w.Write(data[i*piece : (i+1)*piece]); err != nil {
				return
			}
		}
	}), ReadHeaderTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler), Fast: true})
	dir := t.TempDir()
	cert, _, _, err := LoadCert(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	ln := ListenTLS(srv, countingListener{Listener: raw, writes: &writes}, cert)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, time.Second) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	for _, path := range []string{"/pieces", "/whole"} {
		before := writes.Load()
		resp, err := c.Get("https://" + raw.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if err != nil || n != int64(len(data)) {
			t.Fatalf("%s: read %d bytes, %v", path, n, err)
		}
		if want := sha256.Sum256(data); string(h.Sum(nil)) != string(want[:]) {
			t.Fatalf("%s: the stream arrived changed", path)
		}
		// Handshake and headers, then at most two writes per 64 KiB;
		// one per record would be at least four.
		if w := writes.Load() - before; w > 2*pieces+10 {
			t.Fatalf("%s: %d writes for %d pieces of 64 KiB", path, w, pieces)
		}
	}
}
