package engine_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/engine"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestTokenRefusals checks that the CLI prints the gateway's 401 message
// for a missing, wrong, revoked and expired token, and that rotation
// stops the old secret at once.
func TestTokenRefusals(t *testing.T) {
	g := startGateway(t, nil)
	good := g.token("good", "full", time.Time{})
	revoked := g.token("gone", "full", time.Time{})
	expired := g.token("old", "full", time.Now().Add(-time.Minute))
	if err := g.st.DeleteEngineToken(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	wrong, _ := engine.NewToken()

	tests := []struct {
		name, tok, want string
	}{
		{"no token", "", "missing token"},
		{"wrong token", wrong, "invalid token"},
		{"revoked token", revoked, "invalid token"},
		{"expired token", expired, `token "old" expired`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := g.client(tt.tok).try("ps")
			if err == nil {
				t.Fatal("docker ps succeeded")
			}
			if !strings.Contains(stderr, "portcullis: "+tt.want) {
				t.Fatalf("stderr does not carry the gateway's message %q:\n%s", tt.want, stderr)
			}
		})
	}

	g.client(good).run("ps")
	newTok, _ := engine.NewToken()
	if err := g.st.ReplaceEngineTokenHash(context.Background(), "good", engine.HashToken(newTok)); err != nil {
		t.Fatal(err)
	}
	// The new secret works at once; the old one stops within the token
	// cache's lifetime (1s by default).
	g.client(newTok).run("ps")
	rotated := time.Now()
	for {
		_, stderr, err := g.client(good).try("ps")
		if err != nil && strings.Contains(stderr, "invalid token") {
			break
		}
		if time.Since(rotated) > 3*time.Second {
			t.Fatalf("rotated-out token still works after 3s: %v %s", err, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if n := counterValue(t, g.g.Metrics().WithLabelValues("-", "unauthorized")); n < 4 {
		t.Fatalf("unauthorized requests counted %v times, want at least 4", n)
	}
	for _, tok := range []string{good, revoked, expired, wrong, newTok} {
		if strings.Contains(g.logs.String(), tok) {
			t.Fatal("a token appears in the log")
		}
	}
}

// TestReadOnlyToken checks a read-only token can list but not create,
// remove, exec or read container files.
func TestReadOnlyToken(t *testing.T) {
	g := startGateway(t, nil)
	name := uniqueName("gwro")
	t.Cleanup(func() { g.removeContainer(name) })
	g.direct("run", "-d", "--name", name, busybox, "sleep", "300")
	c := g.client(g.token("viewer", "read-only", time.Time{}))

	if out := c.run("ps", "--format", "{{.Names}}"); !strings.Contains(out, name) {
		t.Fatalf("docker ps: %q", out)
	}
	c.run("images")
	c.run("inspect", name)
	for _, args := range [][]string{
		{"run", "--rm", busybox, "true"},
		{"rm", "-f", name},
		{"exec", name, "true"},
		{"volume", "create"},
		{"cp", name + ":/etc/passwd", "-"},
		{"export", name},
		{"save", busybox},
	} {
		_, stderr, err := c.try(args...)
		if err == nil {
			t.Fatalf("docker %v succeeded with a read-only token", args)
		}
		if !strings.Contains(stderr, `token "viewer" may not`) || !strings.Contains(stderr, `policy "read-only"`) {
			t.Fatalf("docker %v: the refusal does not name the token and rule:\n%s", args, stderr)
		}
	}
	if out := g.direct("inspect", "--format", "{{.State.Running}}", name); strings.TrimSpace(out) != "true" {
		t.Fatal("the container was touched")
	}
	if n := counterValue(t, g.g.Metrics().WithLabelValues("viewer", "forbidden")); n < 7 {
		t.Fatalf("forbidden counted %v, want at least 7", n)
	}
}

// TestSOAJSTokenHeader drives the gateway the way SOAJS's dockerode
// client does: the token in a header named "token".
func TestSOAJSTokenHeader(t *testing.T) {
	g := startGateway(t, nil)
	tok := g.token("soajs", "full", time.Time{})
	hc := g.httpClient()
	base := "https://127.0.0.1" + g.addr[strings.LastIndex(g.addr, ":"):]

	do := func(method, path, body, token string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("token", token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := do("GET", "/_ping", "", tok); resp.StatusCode != 200 || body != "OK" {
		t.Fatalf("/_ping = %d %q", resp.StatusCode, body)
	}
	if resp, body := do("GET", "/v1.41/version", "", tok); resp.StatusCode != 200 || !strings.Contains(body, "ApiVersion") {
		t.Fatalf("/version = %d %q", resp.StatusCode, body)
	}
	name := uniqueName("gwsoajs")
	t.Cleanup(func() { g.removeContainer(name) })
	resp, body := do("POST", "/v1.41/containers/create?name="+name, `{"Image":"`+busybox+`","Cmd":["true"]}`, tok)
	if resp.StatusCode != 201 {
		t.Fatalf("create = %d %s", resp.StatusCode, body)
	}
	if resp, body := do("GET", "/v1.41/containers/json?all=1", "", tok); resp.StatusCode != 200 || !strings.Contains(body, name) {
		t.Fatalf("containers/json = %d %s", resp.StatusCode, body)
	}
	if resp, _ := do("DELETE", "/v1.41/containers/"+name, "", tok); resp.StatusCode != 204 {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	resp, body = do("GET", "/_ping", "", "wrong-token-wrong-token-wrong-token")
	var msg struct{ Message string }
	if resp.StatusCode != 401 || json.Unmarshal([]byte(body), &msg) != nil || !strings.Contains(msg.Message, "invalid token") {
		t.Fatalf("wrong token: %d %s", resp.StatusCode, body)
	}

	// The token headers never reach the daemon: an upgrade-free echo of
	// request headers is not available from dockerd, so check the
	// forwarding through a conflicting pair instead.
	req, _ := http.NewRequest("GET", base+"/_ping", nil)
	req.Header.Set("token", tok)
	req.Header.Set("Authorization", "Bearer "+tok+"x")
	r2, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 401 {
		t.Fatalf("disagreeing token headers = %d, want 401", r2.StatusCode)
	}
}

// TestEnvToken checks the drop-in DOCKER_API_TOKEN of the SOAJS
// docker-api: the default configuration reads it, in either header.
func TestEnvToken(t *testing.T) {
	tok := strings.Repeat("c570afc977f719e7", 8)
	t.Setenv("DOCKER_API_TOKEN", tok)
	def, err := config.Parse(nil, t.TempDir(), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, func(c *config.EngineConfig) { c.TokenEnv = def.Engine.TokenEnv })
	g.client(tok).run("ps")
	g.clientWithHeader("token", tok).run("ps")
	if _, stderr, err := g.client(tok[:len(tok)-1] + "0").try("ps"); err == nil || !strings.Contains(stderr, "invalid token") {
		t.Fatalf("a wrong environment token: %v %s", err, stderr)
	}
	if counterValue(t, g.g.Metrics().WithLabelValues(engine.EnvTokenName, "allowed")) < 2 {
		t.Fatal("the environment token's requests are not counted under its name")
	}

	// A guessable token in the environment is refused at start.
	t.Setenv("DOCKER_API_TOKEN", "short")
	ec := def.Engine
	ec.Upstream = g.d.Host
	// The error says how to make a good one: engine init makes stored
	// tokens, not environment ones.
	if _, err := engine.New(ec, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "DOCKER_API_TOKEN") ||
		!strings.Contains(err.Error(), "openssl rand -hex 32") || strings.Contains(err.Error(), "make one with `portcullis engine init`") {
		t.Fatalf("short DOCKER_API_TOKEN: %v", err)
	}
}

// TestSOAJSTokenHeaderDockerCLI runs the hijacked and streamed calls with
// the token in the SOAJS "token" header (HttpHeaders), and a plain call
// with curl as SOAJS scripts do.
func TestSOAJSTokenHeaderDockerCLI(t *testing.T) {
	g := startGateway(t, nil)
	tok := g.token("soajs", "full", time.Time{})
	c := g.clientWithHeader("token", tok)
	c.run("version")
	c.run("ps")
	if out := c.run("run", "--rm", busybox, "echo", "attached-out"); strings.TrimSpace(out) != "attached-out" {
		t.Fatalf("docker run --rm: %q", out)
	}
	name := uniqueName("gwsoajsx")
	t.Cleanup(func() { g.removeContainer(name) })
	c.run("run", "-d", "--name", name, busybox, "sh", "-c", "echo started; sleep 300")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := c.cmd(ctx, "exec", "-i", name, "wc", "-c")
	cmd.Stdin = strings.NewReader("12345")
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "5" {
		t.Fatalf("docker exec -i with the token header: %q %v", out, err)
	}
	if out := c.run("logs", name); !strings.Contains(out, "started") {
		t.Fatalf("docker logs: %q", out)
	}

	curl := testenv.Require(t, "curl")
	caFile := filepath.Join(g.certDir, "ca.pem")
	url := "https://127.0.0.1" + g.addr[strings.LastIndex(g.addr, ":"):] + "/v1.41/containers/json"
	out, err := exec.CommandContext(ctx, curl, "-sS", "--max-time", "20", "--cacert", caFile, "-H", "token: "+tok, url).Output()
	if err != nil || !strings.Contains(string(out), name) {
		t.Fatalf("curl with the token header: %v %s", err, out)
	}
	out, err = exec.CommandContext(ctx, curl, "-sS", "--max-time", "20", "--cacert", caFile, "-o", "/dev/null", "-w", "%{http_code}", url).Output()
	if err != nil || string(out) != "401" {
		t.Fatalf("curl without a token: %v %s", err, out)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
