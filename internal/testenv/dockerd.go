package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DockerdOptions configure a test Docker daemon.
type DockerdOptions struct {
	// InsecureRegistries are HOST:PORT registries the daemon talks to over
	// plain HTTP.
	InsecureRegistries []string
	// ExtraArgs are appended to dockerd's command line.
	ExtraArgs []string
	// Private starts a daemon of the test's own, stopped when the test
	// ends, instead of sharing one per test binary.
	Private bool
}

func (o DockerdOptions) key() string {
	return strings.Join(o.InsecureRegistries, ",") + "|" + strings.Join(o.ExtraArgs, " ")
}

// Dockerd is a running test daemon.
type Dockerd struct {
	// Socket is the daemon's unix socket path; Host is unix://Socket.
	Socket string
	Host   string
	// Dir holds the daemon's data, state, socket and log.
	Dir string
	// ConfigDir is the docker CLI's private DOCKER_CONFIG directory.
	ConfigDir string
	// Driver is the storage driver that worked (overlay2 or vfs).
	Driver string

	proc    *os.Process
	done    chan struct{}
	logPath string

	mu       sync.Mutex
	imported map[string]bool
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*Dockerd{}
)

// StartDockerd starts (or, unless opts.Private, reuses the test binary's)
// real dockerd with its own data root, exec root and socket, no bridge and
// no iptables. It fails or skips the test when dockerd is missing (see
// Require). A shared daemon lives until StopDockerds (call it from
// TestMain) or until the test binary exits, when the kernel kills it.
func StartDockerd(t testing.TB, opts DockerdOptions) *Dockerd {
	t.Helper()
	Require(t, "dockerd")
	Require(t, "docker")
	if os.Geteuid() != 0 {
		if Strict() {
			t.Fatal("dockerd tests need root")
		}
		t.Skip("dockerd tests need root")
	}
	if opts.Private {
		d, err := startDockerd(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Stop)
		return d
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if d := shared[opts.key()]; d != nil {
		select {
		case <-d.done:
		default:
			return d
		}
	}
	d, err := startDockerd(opts)
	if err != nil {
		t.Fatal(err)
	}
	shared[opts.key()] = d
	return d
}

// StopDockerds stops every shared daemon; call it at the end of TestMain.
func StopDockerds() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for k, d := range shared {
		d.Stop()
		delete(shared, k)
	}
}

func startDockerd(opts DockerdOptions) (*Dockerd, error) {
	// Short paths: a unix socket path must fit in 108 bytes, and
	// containerd's sockets live below the exec root.
	dir, err := os.MkdirTemp("", "pcd")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, driver := range []string{"overlay2", "vfs"} {
		d, err := launchDockerd(dir, driver, opts)
		if err == nil {
			return d, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launchDockerd(dir, driver string, opts DockerdOptions) (*Dockerd, error) {
	sock := filepath.Join(dir, "d.sock")
	d := &Dockerd{
		Socket:    sock,
		Host:      "unix://" + sock,
		Dir:       dir,
		ConfigDir: filepath.Join(dir, "cli"),
		Driver:    driver,
		done:      make(chan struct{}),
		logPath:   filepath.Join(dir, "dockerd-"+driver+".log"),
		imported:  map[string]bool{},
	}
	if err := os.MkdirAll(d.ConfigDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(d.ConfigDir, "config.json"), []byte("{}\n"), 0o600); err != nil {
		return nil, err
	}
	args := []string{
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "x"),
		"--pidfile", filepath.Join(dir, "pid"),
		"-H", d.Host,
		"--bridge=none", "--iptables=false", "--ip6tables=false",
		"--storage-driver", driver,
		"--log-level", "warn",
		"--containerd-namespace", "pcd" + filepath.Base(dir),
		"--containerd-plugins-namespace", "pcdp" + filepath.Base(dir),
	}
	for _, r := range opts.InsecureRegistries {
		args = append(args, "--insecure-registry", r)
	}
	args = append(args, opts.ExtraArgs...)
	logf, err := os.Create(d.logPath)
	if err != nil {
		return nil, err
	}
	started := make(chan error, 1)
	// dockerd is started from a goroutine locked to its own OS thread that
	// lives as long as the daemon: Pdeathsig fires when the *thread* that
	// forked exits, and it must fire only when the test binary dies.
	go func() {
		runtime.LockOSThread()
		cmd := exec.Command("dockerd", args...)
		cmd.Stdout = logf
		cmd.Stderr = logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			started <- err
			close(d.done)
			return
		}
		d.proc = cmd.Process
		started <- nil
		_ = cmd.Wait()
		logf.Close()
		close(d.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start dockerd: %w", err)
	}
	if err := d.waitPing(60 * time.Second); err != nil {
		d.Stop()
		return nil, fmt.Errorf("dockerd (%s) did not come up: %w\n%s", driver, err, d.logTail())
	}
	return d, nil
}

func (d *Dockerd) waitPing(timeout time.Duration) error {
	c := d.HTTPClient()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return fmt.Errorf("dockerd exited")
		default:
		}
		resp, err := c.Get("http://docker/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/_ping: %s", resp.Status)
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	return lastErr
}

func (d *Dockerd) logTail() string {
	b, _ := os.ReadFile(d.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// HTTPClient talks to the daemon's socket (any host name in URLs).
func (d *Dockerd) HTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dl net.Dialer
				return dl.DialContext(ctx, "unix", d.Socket)
			},
			MaxIdleConnsPerHost: 16,
		},
	}
}

// Stop stops the daemon (TERM, then KILL of its process group and of the
// containerd it spawned), unmounts what it left and removes its files.
func (d *Dockerd) Stop() {
	if d.proc != nil {
		_ = d.proc.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-d.proc.Pid, syscall.SIGKILL)
			<-d.done
		}
	}
	if b, err := os.ReadFile(filepath.Join(d.Dir, "x", "containerd", "containerd.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	unmountBelow(d.Dir)
	_ = os.RemoveAll(d.Dir)
}

// unmountBelow detaches every mount under dir, deepest first.
func unmountBelow(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

// Cmd runs the docker CLI against the daemon with a private DOCKER_CONFIG.
func (d *Dockerd) Cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(CleanDockerEnv(), "DOCKER_HOST="+d.Host, "DOCKER_CONFIG="+d.ConfigDir)
	return cmd
}

// CleanDockerEnv is the process environment without DOCKER_* variables,
// so that tests never reach a daemon or config of the machine.
func CleanDockerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	return env
}

// BusyboxCommands are linked to busybox in images made by ImportBusybox.
var BusyboxCommands = []string{"sh", "echo", "cat", "sleep", "ls", "true", "false", "wc", "head", "sha256sum", "dd", "env", "id", "ps", "top"}

// ImportBusybox makes image ref (once per daemon) with `docker import` from
// /bin/busybox (busybox-static) and symlinks for BusyboxCommands.
func (d *Dockerd) ImportBusybox(t testing.TB, ref string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.imported[ref] {
		return
	}
	bb := Require(t, "/bin/busybox", "/usr/bin/busybox")
	tarball, err := BusyboxTar(bb)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := d.Cmd(ctx, "import", "-", ref)
	cmd.Stdin = bytes.NewReader(tarball)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import %s: %v\n%s", ref, err, out)
	}
	d.imported[ref] = true
}

// BusyboxTar is a root file system tarball of the static busybox at path.
func BusyboxTar(path string) ([]byte, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read busybox: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Unix(1700000000, 0)
	add := func(h *tar.Header, body []byte) error {
		h.ModTime = now
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	for _, dir := range []string{"bin/", "etc/", "tmp/", "proc/", "sys/", "dev/"} {
		mode := int64(0o755)
		if dir == "tmp/" {
			mode = 0o1777
		}
		if err := add(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: mode}, nil); err != nil {
			return nil, err
		}
	}
	if err := add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}, bin); err != nil {
		return nil, err
	}
	for _, c := range BusyboxCommands {
		if err := add(&tar.Header{Name: "bin/" + c, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil); err != nil {
			return nil, err
		}
	}
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
	if err := add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(passwd))}, passwd); err != nil {
		return nil, err
	}
	group := []byte("root:x:0:\nnogroup:x:65534:\n")
	if err := add(&tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(group))}, group); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Buildx returns the docker buildx plugin binary that
// scripts/install-test-deps.sh builds (or one on PATH as docker-buildx),
// or fails/skips the test as Require does.
func Buildx(t testing.TB) string {
	t.Helper()
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	return Require(t, filepath.Join(string(bytes.TrimSpace(gopath)), "bin", "buildx"), "docker-buildx")
}

// Compose returns the docker compose v2 plugin binary that
// scripts/install-test-deps.sh builds, or fails/skips the test as Require
// does.
func Compose(t testing.TB) string {
	t.Helper()
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	return Require(t, filepath.Join(string(bytes.TrimSpace(gopath)), "bin", "docker-compose"))
}
