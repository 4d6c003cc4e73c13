package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopDockerds()
	os.Exit(code)
}

// finalStage returns the instructions of the Dockerfile's last stage that
// `docker import --change` can apply (ENV, USER, VOLUME, EXPOSE,
// ENTRYPOINT, CMD), so the image below runs the way the Dockerfile says.
func finalStage(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stage []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, _, _ := strings.Cut(line, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			stage = nil
		case "ENV", "USER", "VOLUME", "EXPOSE", "ENTRYPOINT", "CMD":
			stage = append(stage, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stage
}

// TestImageRunsEngineGateway builds the binary as the Dockerfile does
// (static, no cgo), puts it in an image with the final stage's settings
// (non-root user, /data volume, entrypoint), and runs it the way
// `portcullis engine init` says: the daemon's socket mounted, the socket's
// group added. No base image can be pulled here, so the image is made with
// `docker import`; what this proves is that the binary needs nothing from
// its base and that the documented run line works as user 65532.
func TestImageRunsEngineGateway(t *testing.T) {
	testenv.Integration(t)
	d := testenv.StartDockerd(t, testenv.DockerdOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	dir := t.TempDir()
	bin := filepath.Join(dir, "portcullis")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("binary has a program interpreter: it is not static and would not run on distroless/static")
		}
	}
	ef.Close()

	rootfs := imageRootfs(t, bin)
	ref := "portcullis-test:" + randHex(t, 4)
	args := []string{"import"}
	for _, c := range finalStage(t, "../../Dockerfile") {
		args = append(args, "--change", c)
	}
	args = append(args, "-", ref)
	imp := d.Cmd(ctx, args...)
	imp.Stdin = bytes.NewReader(rootfs)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = d.Cmd(c, "rmi", "-f", ref).Run()
	})

	var st syscall.Stat_t
	if err := syscall.Stat(d.Socket, &st); err != nil {
		t.Fatal(err)
	}
	token := randHex(t, 24)
	enginePort, mainPort := testenv.FreePort(t), testenv.FreePort(t)
	name := "portcullis-engine-" + randHex(t, 4)
	run := d.Cmd(ctx, "run", "-d", "--name", name, "--network", "host",
		"--user", fmt.Sprintf("65532:%d", st.Gid),
		"-v", d.Socket+":/var/run/docker.sock",
		"-e", "PORTCULLIS_ENGINE_ENABLED=true",
		"-e", "PORTCULLIS_ENGINE_ADDR="+testenv.Addr(enginePort),
		"-e", "PORTCULLIS_SERVER_ADDR="+testenv.Addr(mainPort),
		"-e", "DOCKER_API_TOKEN="+token,
		ref)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	logs := func() string {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, _ := d.Cmd(c, "logs", name).CombinedOutput()
		return string(out)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = d.Cmd(c, "rm", "-f", "-v", name).Run()
	})
	if err := testenv.WaitTCP(ctx, testenv.Addr(enginePort), time.Minute); err != nil {
		t.Fatalf("gateway in the container did not listen: %v\n%s", err, logs())
	}

	// The certificate it made on first start, in the volume it owns.
	certDir := t.TempDir()
	if out, err := d.Cmd(ctx, "cp", name+":/data/engine/cert.pem", certDir).CombinedOutput(); err != nil {
		t.Fatalf("docker cp cert: %v\n%s\n%s", err, out, logs())
	}
	pem, err := os.ReadFile(filepath.Join(certDir, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in /data/engine/cert.pem")
	}
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}},
	}
	get := func(path, tok string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+testenv.Addr(enginePort)+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, logs())
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(body)
	}

	if code, body := get("/_ping", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d %s, want 401", code, body)
	}
	if code, body := get("/_ping", token); code != http.StatusOK || body != "OK" {
		t.Errorf("/_ping with the token: %d %q, want 200 OK\n%s", code, body, logs())
	}
	// The daemon answers through the mounted socket as user 65532: the
	// gateway's own container is in the list.
	if code, body := get("/v1.41/containers/json", token); code != http.StatusOK || !strings.Contains(body, name) {
		t.Errorf("containers/json: %d %.300s, want 200 listing %s\n%s", code, body, name, logs())
	}
	if out := logs(); strings.Contains(out, token) {
		t.Error("the container's log holds the token")
	}
	inspect, err := d.Cmd(ctx, "inspect", "-f", "{{.Config.User}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(inspect)); !strings.HasPrefix(got, "65532:") {
		t.Errorf("container user %q, want 65532:GID", got)
	}
}

// imageRootfs is the final stage's file system: the binary and a /data
// owned by the non-root user (distroless/static has no more that the
// binary uses: no shell, no libc).
func imageRootfs(t *testing.T, bin string) []byte {
	t.Helper()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mod := time.Unix(1700000000, 0)
	entries := []struct {
		h    tar.Header
		body []byte
	}{
		{tar.Header{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "usr/local/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "usr/local/bin/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "usr/local/bin/portcullis", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))}, b},
		{tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 65532, Gid: 65532}, nil},
		{tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil},
		{tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "proc/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "sys/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
	}
	for _, e := range entries {
		h := e.h
		h.ModTime = mod
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
