package apigw

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkGateway measures one authenticated request through the handler
// to a real loopback upstream (replay on, in memory; a fresh token each).
func BenchmarkGateway(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"result":"ok"}` + "\n"))
	}))
	defer up.Close()
	dir := b.TempDir()
	g := benchGateway(b, dir, up.URL)
	toks := make([]string, b.N)
	for i := range toks {
		toks[i] = "Bearer " + Sign("001", seedKey001, time.Now().Add(50*time.Second))
	}
	req := httptest.NewRequest("GET", "/v0/getbestblockhash", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req.Header.Set("Authorization", toks[i])
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
