package apigw

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

const seedRouteYAML = `
routes:
  - prefix: /
    upstream: __UP__
`

// TestSeedOneLiner runs the original documentation's shell one-liner,
// character for character (echo without -n, base64, openssl dgst -hmac
// ... -r | cut), and its curl reaches the upstream through the gateway.
// Only curl is wrapped, to trust the gateway's self-signed certificate
// and reach its port instead of 443.
func TestSeedOneLiner(t *testing.T) {
	testenv.Integration(t)
	bash := testenv.Require(t, "bash")
	testenv.Require(t, "curl")
	testenv.Require(t, "openssl")
	testenv.Require(t, "base64")
	up := newUpstream(t)
	keys, err := os.ReadFile("testdata/keys-seed.properties")
	if err != nil {
		t.Fatal(err)
	}
	g := startGW(t, gwOpts{yaml: seedRouteYAML, keys: string(keys), upstream: up.URL})
	oneLiner, err := os.ReadFile("testdata/seed-oneliner.sh")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "body")
	script := `curl() { command curl --silent --show-error --cacert "$CA" --connect-to "localhost:443:127.0.0.1:$PORT" -o "$OUT" -w '%{http_code}\n' "$@"; }
` + string(oneLiner) + `echo "TOKEN=$token"
`
	run := func() (status, token string) {
		cmd := exec.Command(bash, "-c", script)
		cmd.Env = append(os.Environ(), "CA="+g.caFile, "PORT="+strconv.Itoa(g.port), "OUT="+out)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("one-liner: %v\n%s", err, b)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return lines[0], strings.TrimPrefix(lines[len(lines)-1], "TOKEN=")
	}
	status, token := run()
	body, _ := os.ReadFile(out)
	if status != "200" || !strings.Contains(string(body), `"path":"/getbestblockhash"`) || !strings.Contains(string(body), `"key_id":"001"`) {
		t.Fatalf("one-liner got %s %s", status, body)
	}
	if !strings.HasSuffix(strings.Split(token, ".")[0], "Cg==") || len(strings.Split(token, ".")[2]) != 64 {
		t.Fatalf("the one-liner did not make the expected format: %s", token)
	}
	// The very same token a second time is a replay.
	g.do(t, "GET", "/getbestblockhash", token).want(t, http.StatusUnauthorized, ReasonReplayed)
	if strings.Contains(g.logs.String(), token) || strings.Contains(g.logs.String(), seedKey001) {
		t.Fatal("the log holds the token or the key")
	}
}

// TestClientFormatsThroughCurl sends a token in every format of the
// compatibility table, built as each client builds it, with curl.
func TestClientFormatsThroughCurl(t *testing.T) {
	testenv.Integration(t)
	curl := testenv.Require(t, "curl")
	up := newUpstream(t)
	keys, _ := os.ReadFile("testdata/keys-seed.properties")
	g := startGW(t, gwOpts{yaml: seedRouteYAML, keys: string(keys), upstream: up.URL})
	for _, f := range clientFormats {
		t.Run(f.name, func(t *testing.T) {
			tok := f.make("002", seedKey002, time.Now().Unix()+10)
			b, err := exec.Command(curl, "--silent", "--show-error", "--cacert", g.caFile,
				"-H", "Authorization: Bearer "+tok, "-w", "\n%{http_code}", g.url+"/v0/getbestblockhash").Output()
			if err != nil {
				t.Fatalf("curl: %v", err)
			}
			if !strings.HasSuffix(string(b), "\n200") || !strings.Contains(string(b), `"key_id":"002"`) {
				t.Fatalf("token %s: %s", tok, b)
			}
		})
	}
}

const cyphernodeYAML = `
routes:
  - prefix: /v0
    upstream: __UP__
    strip_prefix: true
    api_properties: testdata/api.properties
  - prefix: /admin
    upstream: __UP__
    groups: [admin]
  - prefix: /slow
    upstream: __UP__
    response_header_timeout: 300ms
  - prefix: /down
    upstream: http://127.0.0.1:1
`

func startCyphernodeGW(t *testing.T, extra string) (*testGW, map[string]string) {
	t.Helper()
	up := newUpstream(t)
	keys, err := os.ReadFile("testdata/keys-cyphernode.properties")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ParseKeyFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	for id, k := range ks {
		secrets[id] = string(k.Secret)
	}
	return startGW(t, gwOpts{yaml: extra + cyphernodeYAML, keys: string(keys), upstream: up.URL}), secrets
}

func TestForwarding(t *testing.T) {
	testenv.Integration(t)
	g, sec := startCyphernodeGW(t, "")
	req, _ := http.NewRequest("POST", g.url+"/v0/getbestblockhash", nil)
	req.Header.Set("Authorization", "Bearer "+fresh("001", sec["001"], 10*time.Second))
	req.Header.Set("X-Portcullis-Key-Id", "003")       // spoofed: replaced
	req.Header.Set("X-Portcullis-Key-Groups", "admin") // spoofed: replaced
	// Spellings with underscores that CGI-style upstreams read as the
	// identity headers (HTTP_X_PORTCULLIS_KEY_ID): dropped.
	req.Header["X_portcullis_key_id"] = []string{"003"}
	req.Header["X-Portcullis_Key-Groups"] = []string{"admin"}
	a := g.send(t, req)
	a.want(t, http.StatusOK, "")
	want := echoed{Method: "POST", Path: "/getbestblockhash", Auth: "", KeyID: "001", Groups: "stats,watcher"}
	if a.echo != want {
		t.Fatalf("upstream saw %+v, want %+v", a.echo, want)
	}
	// Without strip_prefix the path goes as it came.
	a = g.do(t, "GET", "/admin/x/y", fresh("003", sec["003"], 10*time.Second))
	a.want(t, http.StatusOK, "")
	if a.echo.Path != "/admin/x/y" || a.echo.Groups != "stats,watcher,spender,admin" {
		t.Fatalf("upstream saw %+v", a.echo)
	}
}

func TestRefusals(t *testing.T) {
	testenv.Integration(t)
	g, sec := startCyphernodeGW(t, "")
	now := time.Now().Unix()
	good := func(id string) string { return fresh(id, sec[id], 10*time.Second) }
	h, p, s := splitToken(good("001"))
	signed := func(h, p string) string { return h + "." + p + "." + sigURL(sec["001"], h+"."+p) }
	payload := func(exp int64) string { return b64url(`{"id":"001","exp":` + strconv.FormatInt(exp, 10) + `}`) }
	replayed := good("002")
	g.do(t, "GET", "/v0/getbalance", replayed).want(t, http.StatusOK, "")

	cases := []struct {
		name, path, auth string
		status           int
		reason           Reason
	}{
		{"tampered payload", "/v0/getbestblockhash", "Bearer " + h + "." + payload(now+20) + "." + s, 401, ReasonBadSignature},
		{"tampered signature", "/v0/getbestblockhash", "Bearer " + h + "." + p + "." + flip(s), 401, ReasonBadSignature},
		{"wrong key", "/v0/getbestblockhash", "Bearer " + fresh("001", sec["002"], 10*time.Second), 401, ReasonBadSignature},
		{"expired", "/v0/getbestblockhash", "Bearer " + signed(h, payload(now-10)), 401, ReasonExpired},
		{"beyond max lifetime", "/v0/getbestblockhash", "Bearer " + signed(h, payload(now+3600)), 401, ReasonTooLongLived},
		{"replayed", "/v0/getbalance", "Bearer " + replayed, 401, ReasonReplayed},
		{"replayed on another path", "/v0/getbestblockhash", "Bearer " + replayed, 401, ReasonReplayed},
		{"unknown id", "/v0/getbestblockhash", "Bearer " + fresh("999", sec["001"], 10*time.Second), 401, ReasonUnknownKey},
		{"unknown id with empty-key signature", "/v0/getbestblockhash", "Bearer " + fresh("999", "", 10*time.Second), 401, ReasonUnknownKey},
		{"alg none", "/v0/getbestblockhash", "Bearer " + signed(b64url(`{"alg":"none","typ":"JWT"}`), p), 401, ReasonMalformed},
		{"alg HS384", "/v0/getbestblockhash", "Bearer " + signed(b64url(`{"alg":"HS384","typ":"JWT"}`), p), 401, ReasonMalformed},
		{"alg RS256", "/v0/getbestblockhash", "Bearer " + signed(b64url(`{"alg":"RS256","typ":"JWT"}`), p), 401, ReasonMalformed},
		{"garbage", "/v0/getbestblockhash", "Bearer %%%garbage%%%", 401, ReasonMalformed},
		{"not bearer", "/v0/getbestblockhash", "Basic YWRtaW46YWRtaW4=", 401, ReasonMalformed},
		{"no header", "/v0/getbestblockhash", "", 401, ReasonMalformed},
		{"oversized header", "/v0/getbestblockhash", "Bearer " + strings.Repeat("A", 5000) + "." + p + "." + s, 401, ReasonMalformed},
		{"group not allowed for action", "/v0/spend", "Bearer " + good("001"), 403, ReasonForbidden},
		{"action unknown", "/v0/rm_rf", "Bearer " + good("003"), 403, ReasonForbidden},
		{"group by substring is no group", "/admin/conf", "Bearer " + good("004"), 403, ReasonForbidden},
		{"group not allowed on route", "/admin/conf", "Bearer " + good("002"), 403, ReasonForbidden},
		{"no route", "/nothing/here", "Bearer " + good("003"), 404, ReasonNoRoute},
		{"prefix is whole segments", "/v0x/getbestblockhash", "Bearer " + good("003"), 404, ReasonNoRoute},
		{"dot-dot path", "/v0/getbestblockhash/../spend", "Bearer " + good("001"), 400, ReasonBadPath},
		{"encoded dot-dot path", "/v0/getbestblockhash%2F..%2Fspend", "Bearer " + good("001"), 400, ReasonBadPath},
		{"upstream down", "/down/x", "Bearer " + good("001"), 502, ReasonBadGateway},
		{"upstream slow", "/slow", "Bearer " + good("001"), 504, ReasonTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", g.url+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			g.send(t, req).want(t, c.status, c.reason)
		})
	}
	t.Run("two Authorization headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", g.url+"/v0/getbestblockhash", nil)
		req.Header.Add("Authorization", "Bearer "+good("001"))
		req.Header.Add("Authorization", "Bearer "+good("002"))
		g.send(t, req).want(t, 401, ReasonMalformed)
	})
	t.Run("headers beyond the server limit", func(t *testing.T) {
		req, _ := http.NewRequest("GET", g.url+"/v0/getbestblockhash", nil)
		req.Header.Set("Authorization", "Bearer "+strings.Repeat("A", 100<<10))
		resp, err := g.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("got %d, want 431", resp.StatusCode)
		}
	})
	logs := g.logs.String()
	for id, k := range sec {
		if strings.Contains(logs, k) {
			t.Fatalf("the log holds key %s", id)
		}
	}
	if strings.Contains(logs, s) || strings.Contains(logs, "Bearer") {
		t.Fatal("the log holds a token")
	}
}

func TestRateLimit(t *testing.T) {
	testenv.Integration(t)
	g, sec := startCyphernodeGW(t, "rate_limit: {per_second: 1, burst: 2}\n")
	for range 2 {
		g.do(t, "GET", "/v0/getbestblockhash", fresh("001", sec["001"], 10*time.Second)).want(t, 200, "")
	}
	a := g.do(t, "GET", "/v0/getbestblockhash", fresh("001", sec["001"], 10*time.Second))
	a.want(t, http.StatusTooManyRequests, ReasonRateLimited)
	if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Fatalf("Retry-After %q", a.header.Get("Retry-After"))
	}
	// Another key has its own bucket.
	g.do(t, "GET", "/v0/getbestblockhash", fresh("002", sec["002"], 10*time.Second)).want(t, 200, "")
}

func TestReloadOnChange(t *testing.T) {
	testenv.Integration(t)
	up := newUpstream(t)
	dir := t.TempDir()
	g := startGW(t, gwOpts{yaml: "keys_reload_interval: 50ms\n" + seedRouteYAML, keys: "key001=" + seedKey001 + "\n", upstream: up.URL, dir: dir})
	g.do(t, "GET", "/x", fresh("002", seedKey002, 10*time.Second)).want(t, 401, ReasonUnknownKey)
	kf := filepath.Join(dir, "keys.properties")
	if err := os.WriteFile(kf, []byte("key001="+seedKey001+"\nkey002="+seedKey002+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := g.do(t, "GET", "/x", fresh("002", seedKey002, 10*time.Second))
		if a.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key added to the file never accepted: %d %s", a.status, a.reason)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A broken file keeps the keys already loaded.
	if err := os.WriteFile(kf, []byte("key002=nothex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.gw.Reload(); err == nil {
		t.Fatal("Reload accepted a broken file")
	}
	g.do(t, "GET", "/x", fresh("001", seedKey001, 10*time.Second)).want(t, 200, "")
	// Removing the key and reloading refuses it at once.
	if err := os.WriteFile(kf, []byte("key001="+seedKey001+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.gw.Reload(); err != nil {
		t.Fatal(err)
	}
	g.do(t, "GET", "/x", fresh("002", seedKey002, 10*time.Second)).want(t, 401, ReasonUnknownKey)
}
