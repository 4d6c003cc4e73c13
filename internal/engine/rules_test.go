package engine_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
)

// startRulesGateway runs a gateway with a "ci" policy that may run
// containers but only bind-mount allowed.
func startRulesGateway(t *testing.T) (*gw, string, string) {
	t.Helper()
	allowed := t.TempDir()
	if err := os.WriteFile(filepath.Join(allowed, "marker"), []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, func(c *config.EngineConfig) {
		c.Policies = map[string]config.EnginePolicy{
			"ci": {
				Allow: map[string][]string{
					"containers": {"*"}, "exec": {"*"}, "images": {"read"}, "info": {"read"},
				},
				ContainerCreate: config.EngineCreateRules{BindPrefixes: []string{allowed}},
			},
		}
	})
	return g, g.token("ci", "ci", time.Time{}), allowed
}

// TestCreateRulesWithDockerCLI checks that the create rules refuse
// --privileged, a forbidden bind mount and host namespaces from the real
// CLI, naming the rule, and let an allowed bind mount through.
func TestCreateRulesWithDockerCLI(t *testing.T) {
	g, tok, allowed := startRulesGateway(t)
	c := g.client(tok)

	for _, tt := range []struct {
		args []string
		rule string
	}{
		{[]string{"--privileged"}, "container_create.allow_privileged"},
		{[]string{"-v", "/etc:/host"}, "container_create.bind_prefixes"},
		{[]string{"--mount", "type=bind,src=/,dst=/host"}, "container_create.bind_prefixes"},
		{[]string{"-v", allowed + "/../../etc:/host"}, "container_create.bind_prefixes"},
		{[]string{"--network", "host"}, "container_create.allow_host_network"},
		{[]string{"--pid", "host"}, "container_create.allow_host_pid"},
		{[]string{"--cap-add", "SYS_ADMIN"}, "container_create.allow_capabilities"},
	} {
		args := append(append([]string{"run", "--rm"}, tt.args...), busybox, "true")
		_, stderr, err := c.try(args...)
		if err == nil {
			t.Fatalf("docker %v succeeded", args)
		}
		if !strings.Contains(stderr, tt.rule) || !strings.Contains(stderr, `token "ci"`) {
			t.Fatalf("docker %v: refusal does not name the token and rule %s:\n%s", args, tt.rule, stderr)
		}
	}
	out := c.run("run", "--rm", "-v", allowed+":/data:ro", busybox, "cat", "/data/marker")
	if strings.TrimSpace(out) != "from-host" {
		t.Fatalf("allowed bind mount: %q", out)
	}
	// exec create bodies are judged too.
	name := uniqueName("gwrules")
	t.Cleanup(func() { g.removeContainer(name) })
	c.run("run", "-d", "--name", name, busybox, "sleep", "300")
	if _, stderr, err := c.try("exec", "--privileged", name, "true"); err == nil || !strings.Contains(stderr, "allow_privileged") {
		t.Fatalf("privileged exec: %v %s", err, stderr)
	}
	if out := c.run("exec", name, "echo", "ok"); strings.TrimSpace(out) != "ok" {
		t.Fatalf("exec: %q", out)
	}
	if !strings.Contains(g.logs.String(), "rule=") {
		t.Fatal("refusals were not audited with their rule")
	}
}

// TestCreateRulesBodyFraming sends container-create bodies the ways that
// fooled Docker's authorization plugins (CVE-2024-41110): announced with
// Content-Length 0, chunked, and both. The gateway must judge exactly the
// bytes the daemon would read, and no privileged container may appear.
func TestCreateRulesBodyFraming(t *testing.T) {
	g, tok, _ := startRulesGateway(t)
	privileged := `{"Image":"` + busybox + `","Cmd":["true"],"HostConfig":{"Privileged":true}}`
	plain := `{"Image":"` + busybox + `","Cmd":["true"]}`
	bind := `{"Image":"` + busybox + `","Cmd":["true"],"HostConfig":{"Binds":["/etc:/host-etc"]}}`
	chunked := func(body string) string {
		// Two chunks, so the body is split across reads.
		h := len(body) / 2
		return fmt.Sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", h, body[:h], len(body)-h, body[h:])
	}

	tests := []struct {
		name    string
		headers string
		body    string
		want    []int // acceptable statuses
		created bool
	}{
		{"content-length 0, privileged body follows", "Content-Length: 0\r\n", privileged, []int{400}, false},
		{"chunked privileged", "Transfer-Encoding: chunked\r\n", chunked(privileged), []int{403}, false},
		{"chunked and content-length 0, privileged", "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", chunked(privileged), []int{400, 403}, false},
		{"no length at all, privileged body follows", "", privileged, []int{400}, false},
		{"content-length 0, bind mount body follows", "Content-Length: 0\r\n", bind, []int{400}, false},
		{"chunked bind mount", "Transfer-Encoding: chunked\r\n", chunked(bind), []int{403}, false},
		{"chunked and content-length 0, bind mount", "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", chunked(bind), []int{400, 403}, false},
		{"chunked plain", "Transfer-Encoding: chunked\r\n", chunked(plain), []int{201}, true},
		{"content-length plain", fmt.Sprintf("Content-Length: %d\r\n", len(plain)), plain, []int{201}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("%s-%d", uniqueName("gwframe"), i)
			t.Cleanup(func() { g.removeContainer(name) })
			conn := g.tlsDial()
			req := "POST /v1.41/containers/create?name=" + name + " HTTP/1.1\r\n" +
				"Host: docker\r\nAuthorization: Bearer " + tok + "\r\nContent-Type: application/json\r\n" +
				tt.headers + "\r\n" + tt.body
			if _, err := io.WriteString(conn, req); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			ok := false
			for _, s := range tt.want {
				ok = ok || resp.StatusCode == s
			}
			if !ok {
				t.Fatalf("status %d (%s), want one of %v", resp.StatusCode, b, tt.want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, _ := g.d.Cmd(ctx, "ps", "-a", "--filter", "name="+name, "--format", "{{.Names}}").Output()
			if got := strings.TrimSpace(string(out)) == name; got != tt.created {
				t.Fatalf("container created = %v, want %v (response %d %s)", got, tt.created, resp.StatusCode, b)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := g.d.Cmd(ctx, "ps", "-aq", "--filter", "name=gwframe").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range strings.Fields(string(out)) {
		priv, _ := g.d.Cmd(ctx, "inspect", "--format", "{{.HostConfig.Privileged}} {{.HostConfig.Binds}}", id).Output()
		if s := strings.TrimSpace(string(priv)); s != "false []" {
			t.Fatalf("container %s got through with privileged/binds %s", id, s)
		}
	}
}

// TestLegacyStartHostConfig checks the start call of API versions before
// 1.24, whose body dockerd (20.10 serves them) takes as the container's
// new host configuration: a forbidden bind mount or privileged mode sent
// there is refused like one sent to create, whatever the framing, and a
// start without a body still works.
func TestLegacyStartHostConfig(t *testing.T) {
	g, tok, _ := startRulesGateway(t)
	hc := g.httpClient()
	base := "https://127.0.0.1" + g.addr[strings.LastIndex(g.addr, ":"):]
	do := func(path string, body io.Reader) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(b)
	}
	name := uniqueName("gwstart")
	t.Cleanup(func() { g.removeContainer(name) })
	if st, b := do("/v1.23/containers/create?name="+name, strings.NewReader(`{"Image":"`+busybox+`","Cmd":["sleep","300"]}`)); st != 201 {
		t.Fatalf("create = %d %s", st, b)
	}
	for _, tt := range []struct {
		name, body, rule string
		chunked          bool
	}{
		{"bind", `{"Binds":["/etc:/hostetc"]}`, "container_create.bind_prefixes", false},
		{"bind chunked", `{"Binds":["/etc:/hostetc"]}`, "container_create.bind_prefixes", true},
		{"privileged under HostConfig", `{"HostConfig":{"Privileged":true}}`, "container_create.allow_privileged", false},
		{"host network", `{"NetworkMode":"host"}`, "container_create.allow_host_network", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // unknown length: sent chunked
			}
			st, b := do("/v1.23/containers/"+name+"/start", body)
			if st != http.StatusForbidden || !strings.Contains(b, tt.rule) {
				t.Fatalf("legacy start with %s = %d %s, want 403 naming %s", tt.body, st, b, tt.rule)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := g.d.Cmd(ctx, "inspect", "--format", "{{.HostConfig.Binds}} {{.HostConfig.Privileged}} {{.HostConfig.NetworkMode}} {{.State.Running}}", name).Output()
	if err != nil || strings.TrimSpace(string(out)) != "[] false default false" {
		t.Fatalf("the container's host config changed: %q %v", out, err)
	}
	if st, b := do("/v1.23/containers/"+name+"/start", nil); st != http.StatusNoContent {
		t.Fatalf("start without a body = %d %s", st, b)
	}
}

// TestBuildNetworkModeHost checks that a named policy allowed to build
// cannot give its RUN steps the host's network (networkmode=host, in the
// query or in a form body dockerd would also read), while a plain build
// goes through.
func TestBuildNetworkModeHost(t *testing.T) {
	g := startGateway(t, func(c *config.EngineConfig) {
		c.Policies = map[string]config.EnginePolicy{
			"builder": {Allow: map[string][]string{"build": {"POST"}}},
		}
	})
	tok := g.token("builder", "builder", time.Time{})
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	df := "FROM " + busybox + "\nRUN cat /proc/net/dev\n"
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))}); err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(tw, df)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	hc := g.httpClient()
	base := "https://127.0.0.1" + g.addr[strings.LastIndex(g.addr, ":"):]
	build := func(query, contentType string, body []byte) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", base+"/v1.41/build?"+query, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	for _, q := range []string{"networkmode=host", "rm=1&networkmode=HOST", "networkmode=default&networkmode=host"} {
		if st, b := build(q, "application/x-tar", ctxTar.Bytes()); st != http.StatusForbidden || !strings.Contains(b, "container_create.allow_host_network") {
			t.Fatalf("build?%s = %d %s, want 403 naming allow_host_network", q, st, b)
		}
	}
	if st, b := build("", "application/x-www-form-urlencoded", []byte("networkmode=host&remote=http://127.0.0.1:1/Dockerfile")); st != http.StatusUnsupportedMediaType {
		t.Fatalf("build parameters in a form body = %d %s, want 415", st, b)
	}
	if st, b := build("rm=1&forcerm=1", "application/x-tar", ctxTar.Bytes()); st != http.StatusOK || !strings.Contains(b, "Successfully built") {
		t.Fatalf("plain build = %d %s", st, b)
	}
}

// TestLegacyCopyIsArchive checks that POST /containers/{id}/copy, the
// file read of API versions before 1.24 that dockerd 20.10 still serves,
// needs the archive section like docker cp: a policy with every method on
// containers but not archive cannot read a container's files with it.
func TestLegacyCopyIsArchive(t *testing.T) {
	g := startGateway(t, func(c *config.EngineConfig) {
		c.Policies = map[string]config.EnginePolicy{
			"ops": {Allow: map[string][]string{"containers": {"*"}}},
		}
	})
	tok := g.token("ops", "ops", time.Time{})
	name := uniqueName("gwcopy")
	t.Cleanup(func() { g.removeContainer(name) })
	g.direct("run", "-d", "--name", name, busybox, "sleep", "300")
	req, err := http.NewRequest("POST", "https://127.0.0.1"+g.addr[strings.LastIndex(g.addr, ":"):]+"/v1.23/containers/"+name+"/copy",
		strings.NewReader(`{"Resource":"/etc/passwd"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := g.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "section archive") || strings.Contains(string(b), "root:x:0") {
		t.Fatalf("legacy copy = %d %.200q, want 403 naming section archive", resp.StatusCode, b)
	}
}

// TestCreateBodyTooLargeToInspect checks that a create body the gateway
// cannot read whole within max_inspect_bytes is refused with 413, with a
// Content-Length or chunked, and never passed on uninspected (the
// CVE-2026-34040 shape: a privileged body padded past the limit).
func TestCreateBodyTooLargeToInspect(t *testing.T) {
	g := startGateway(t, func(c *config.EngineConfig) {
		c.MaxInspectBytes = 4096
		c.Policies = map[string]config.EnginePolicy{"ci": {Allow: map[string][]string{"containers": {"*"}}}}
	})
	tok := g.token("ci", "ci", time.Time{})
	hc := g.httpClient()
	base := "https://127.0.0.1" + g.addr[strings.LastIndex(g.addr, ":"):]
	body := func(pad int, privileged bool) string {
		return `{"Image":"` + busybox + `","Cmd":["true"],"Labels":{"pad":"` + strings.Repeat("x", pad) +
			`"},"HostConfig":{"Privileged":` + fmt.Sprint(privileged) + `}}`
	}
	for _, tt := range []struct {
		name    string
		body    string
		chunked bool
		want    int
	}{
		{"over the limit, content-length", body(8192, true), false, http.StatusRequestEntityTooLarge},
		{"over the limit, chunked", body(8192, true), true, http.StatusRequestEntityTooLarge},
		{"under the limit, privileged", body(2048, true), true, http.StatusForbidden},
		{"under the limit, plain", body(2048, false), true, http.StatusCreated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := uniqueName("gwbig")
			t.Cleanup(func() { g.removeContainer(name) })
			var r io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				r = io.MultiReader(r)
			}
			req, err := http.NewRequest("POST", base+"/v1.41/containers/create?name="+name, r)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tt.want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, _ := g.d.Cmd(ctx, "ps", "-a", "--filter", "name="+name, "--format", "{{.Names}}").Output()
			if created := strings.TrimSpace(string(out)) == name; created != (tt.want == http.StatusCreated) {
				t.Fatalf("container created = %v with status %d", created, resp.StatusCode)
			}
		})
	}
}
