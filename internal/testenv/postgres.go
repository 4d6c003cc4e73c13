package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgServer is one throwaway PostgreSQL server, private to a test binary.
type pgServer struct {
	dir      string
	port     int
	password string
	cmd      *exec.Cmd
	exited   chan struct{}
}

var pgShared struct {
	mu  sync.Mutex
	srv *pgServer
	n   int
}

// StartPostgres returns the DSN of a fresh, empty database on a real
// PostgreSQL server. The server (initdb'd into a temporary directory,
// listening on 127.0.0.1 and a socket in that directory only, password
// authentication, fsync on) is started on first use and shared by the
// whole test binary; every call gets its own database, dropped when t
// ends. Packages that use it call StopPostgres from TestMain; should they
// not, the server still dies with the test process (parent-death signal).
func StartPostgres(t testing.TB) (dsn string) {
	t.Helper()
	initdb := pgBinary(t, "initdb")
	postgres := filepath.Join(filepath.Dir(initdb), "postgres")
	if _, err := os.Stat(postgres); err != nil {
		postgres = Require(t, "postgres")
	}

	pgShared.mu.Lock()
	if pgShared.srv == nil {
		srv, err := startPG(initdb, postgres)
		if err != nil {
			pgShared.mu.Unlock()
			t.Fatalf("start postgres: %v", err)
		}
		pgShared.srv = srv
	}
	srv := pgShared.srv
	pgShared.n++
	name := fmt.Sprintf("portcullis_test_%d_%d", os.Getpid(), pgShared.n)
	pgShared.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.admin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return srv.dsn(name)
}

// StopPostgres stops the shared server, if one was started, and removes
// its files. Call it from TestMain after m.Run.
func StopPostgres() {
	pgShared.mu.Lock()
	defer pgShared.mu.Unlock()
	if pgShared.srv != nil {
		pgShared.srv.stop()
		pgShared.srv = nil
	}
}

// pgBinary finds a PostgreSQL program: Debian keeps them in
// /usr/lib/postgresql/VERSION/bin, off PATH.
func pgBinary(t testing.TB, name string) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	var candidates []string
	for _, d := range dirs {
		candidates = append(candidates, filepath.Join(d, name))
	}
	return Require(t, append(candidates, name)...)
}

func (s *pgServer) dsn(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword("postgres", s.password),
		Host:     Addr(s.port),
		Path:     "/" + db,
		RawQuery: "sslmode=disable&connect_timeout=10",
	}
	return u.String()
}

func (s *pgServer) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// asPostgres makes cmd run as the postgres user when we are root: the
// server refuses to run as root.
func asPostgres(cmd *exec.Cmd, cred *syscall.Credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
}

func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func startPG(initdb, postgres string) (*pgServer, error) {
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "portcullis-pg-")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*pgServer, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return fail(err)
	}
	s := &pgServer{dir: dir, password: hex.EncodeToString(pw)}
	pwFile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(s.password+"\n"), 0o600); err != nil {
		return fail(err)
	}
	if cred != nil {
		for _, p := range []string{dir, pwFile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return fail(err)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// --no-sync only skips initdb's final flush of a throwaway cluster; the
	// server itself runs with fsync on.
	cmd := exec.CommandContext(ctx, initdb, "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--auth=scram-sha-256", "--pwfile="+pwFile, "-E", "UTF8", "--no-locale", "--no-sync")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C"}
	asPostgres(cmd, cred)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %w\n%s", err, out))
	}

	// The port may be taken between FreePort and bind: retry a few times.
	var lastErr error
	for range 3 {
		if err := s.run(ctx, postgres, cred); err != nil {
			lastErr = err
			continue
		}
		return s, nil
	}
	return fail(lastErr)
}

func (s *pgServer) run(ctx context.Context, postgres string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.port = port
	logPath := filepath.Join(s.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(postgres, "-D", filepath.Join(s.dir, "data"),
		"-c", "listen_addresses=127.0.0.1",
		"-p", strconv.Itoa(s.port),
		"-c", "unix_socket_directories="+s.dir,
		"-c", "fsync=on",
		"-c", "max_connections=200",
		"-c", "logging_collector=off")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C", "LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	asPostgres(cmd, cred)
	// Should the test binary die without StopPostgres, the server dies too.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr.Setpgid = true
	// Pdeathsig fires when the *thread* that forked exits, not the
	// process: started from any goroutine, the server died whenever the
	// runtime ended that thread (it does when a goroutine locked to it
	// returns, as dockerd's does when a test stops it), and every later
	// test of the binary found it gone. Fork from a goroutine locked to a
	// thread of its own that lives as long as the server (as dockerd).
	started := make(chan error, 1)
	s.exited = make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.cmd = cmd

	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.dsn("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres exited during start-up:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("postgres not ready after 30s: %w", err)
		}
	}
}

// stop asks for a fast shutdown, then kills after a grace period, and
// removes the server's files.
func (s *pgServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	os.RemoveAll(s.dir)
}

// freePort picks a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
