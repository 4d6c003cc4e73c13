package ldap

import (
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
)

// freezer is a TCP proxy to target that can stop answering: while frozen,
// nothing from the server reaches the client and new connections are
// accepted but not forwarded, as with a directory that hangs (stopped
// process, full disk, partitioned network).
type freezer struct {
	target string
	frozen atomic.Bool
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{target: target, ln: ln}
	go f.serve()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.conns {
			c.Close()
		}
	})
	return f
}

func (f *freezer) addr() string { return f.ln.Addr().String() }

func (f *freezer) track(c net.Conn) {
	f.mu.Lock()
	f.conns = append(f.conns, c)
	f.mu.Unlock()
}

func (f *freezer) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.track(c)
		if f.frozen.Load() {
			continue // accepted, never answered
		}
		s, err := net.DialTimeout("tcp", f.target, 2*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		f.track(s)
		go func() { _, _ = io.Copy(s, c) }()
		go f.copyBack(c, s)
	}
}

// copyBack forwards the server's bytes unless frozen; frozen bytes are
// dropped and the connection stays open and silent.
func (f *freezer) copyBack(c, s net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 && !f.frozen.Load() {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			c.Close()
			return
		}
	}
}

// TestDirectoryHangsAndRecovers: a directory that keeps its connections
// open but stops answering costs bounded time (the operation's timeout,
// then dial_timeout for a fresh connection), answers ErrBackend (503),
// never a decision; once it answers again, logins work without a restart.
func TestDirectoryHangsAndRecovers(t *testing.T) {
	s := startDirectory(t)
	f := newFreezer(t, strings.TrimPrefix(s.LDAPSURL, "ldaps://"))
	cfg := parseLDAP(t, s, searchConfig,
		"pool_size: 2")
	cfg.URLs = []string{"ldaps://" + f.addr()}
	cfg.StartTLS = false
	cfg.ServerName = "127.0.0.1"
	cfg.DialTimeout, cfg.BindTimeout, cfg.SearchTimeout = 500*time.Millisecond, 500*time.Millisecond, 500*time.Millisecond
	b := newBackend(t, cfg)
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
	mustDecide(t, b, "bob", "wrong", authn.Deny)

	f.frozen.Store(true)
	for _, c := range [][2]string{{"alice", "alice-pw"}, {"bob", "wrong"}, {"mallory", "x"}} {
		start := time.Now()
		res, err := login(t, b, c[0], c[1])
		wantBackendError(t, res, err)
		// A pooled connection waits search_timeout, its retry on a new
		// connection dial_timeout: 1s, with room for a loaded machine.
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("%s: failure took %s with 500ms timeouts", c[0], d)
		}
	}

	f.frozen.Store(false)
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
	mustDecide(t, b, "bob", "wrong", authn.Deny)
}
