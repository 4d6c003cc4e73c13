package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/apigw"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/server"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestAPIGatewayReplayThroughRedis runs two Portcullis servers configured
// with api_gateway.replay: redis against one real redis-server: a token
// accepted by one is refused by the other as replayed; with Redis down
// the gateways refuse with 503 instead of letting tokens through, and
// work again once it is back.
func TestAPIGatewayReplayThroughRedis(t *testing.T) {
	testenv.Integration(t)
	r := testenv.StartRedis(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer up.Close()
	const secret = "5f4e3d2c1b0a99887766554433221100ffeeddccbbaa99887766554433221100"
	keys := filepath.Join(t.TempDir(), "keys.properties")
	if err := os.WriteFile(keys, []byte("key001="+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gateway := func() string {
		addr := testenv.Addr(testenv.FreePort(t))
		startPortcullis(t, fmt.Sprintf(`api_gateway:
  enabled: true
  insecure_http: true
  addr: %s
  keys_file: %s
  replay: redis
  redis:
    url: %s
  routes:
    - prefix: /
      upstream: %s
`, addr, keys, r.URL, up.URL))
		if err := testenv.WaitTCP(context.Background(), addr, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		return "http://" + addr
	}
	a, b := gateway(), gateway()
	seq := 0
	newToken := func() string {
		seq++ // one second apart: tokens of one second are alike
		return apigw.Sign("001", secret, time.Now().Add(time.Duration(10+seq)*time.Second))
	}
	send := func(base, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/x", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Reason string `json:"reason"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Reason
	}
	want := func(base, tok string, status int, reason string) {
		t.Helper()
		if s, r := send(base, tok); s != status || r != reason {
			t.Fatalf("%s: got %d %q, want %d %q", base, s, r, status, reason)
		}
	}
	tok := newToken()
	want(a, tok, http.StatusOK, "")
	want(b, tok, http.StatusUnauthorized, "replayed")
	want(a, tok, http.StatusUnauthorized, "replayed")
	want(b, newToken(), http.StatusOK, "")

	r.Stop()
	down := newToken()
	want(a, down, http.StatusServiceUnavailable, "unavailable")
	r.Start() // an empty Redis: nothing was remembered while it was down
	want(b, down, http.StatusOK, "")
	want(a, down, http.StatusUnauthorized, "replayed")
}

// TestAPIGatewayRedisUnreachable: a server configured with a Redis it
// cannot use does not start, and says which setting and server, without
// the password.
func TestAPIGatewayRedisUnreachable(t *testing.T) {
	testenv.Integration(t)
	r := testenv.StartRedis(t)
	dir := t.TempDir()
	for _, c := range []struct{ url, want string }{
		{"redis://:not-the-password@" + r.Addr + "/0", "api_gateway.redis: redis " + r.Addr + ": WRONGPASS"},
		{"redis://:not-the-password@" + testenv.Addr(testenv.FreePort(t)) + "/0", "connection refused"},
	} {
		yaml := fmt.Sprintf(`data_dir: %s
server:
  addr: 127.0.0.1:%d
api_gateway:
  enabled: true
  insecure_http: true
  addr: 127.0.0.1:%d
  replay: redis
  redis:
    url: %s
  routes:
    - prefix: /
      upstream: http://127.0.0.1:9
`, dir, testenv.FreePort(t), testenv.FreePort(t), c.url)
		cfg, err := config.Parse([]byte(yaml), "", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler), io.Discard)
		cancel()
		if err == nil {
			srv.Close()
			t.Fatalf("%s: server started", c.url)
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "not-the-password") {
			t.Errorf("%s: error %q should contain %q and not the password", c.url, err, c.want)
		}
	}
}
