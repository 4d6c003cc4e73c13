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
	// stuck are the flags of the proxied connections: set, a connection
	// no longer forwards the server's bytes even when the proxy is not
	// frozen (a connection dropped silently by a firewall or a failed
	// host).
	stuck []*atomic.Bool
}

// freezeExisting makes the connections open now stop answering for good;
// new connections work.
func (f *freezer) freezeExisting() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.stuck {
		s.Store(true)
	}
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
		stuck := new(atomic.Bool)
		f.mu.Lock()
		f.stuck = append(f.stuck, stuck)
		f.mu.Unlock()
		go func() { _, _ = io.Copy(s, c) }()
		go f.copyBack(c, s, stuck)
	}
}

// copyBack forwards the server's bytes unless frozen; frozen bytes are
// dropped and the connection stays open and silent.
func (f *freezer) copyBack(c, s net.Conn, stuck *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 && !f.frozen.Load() && !stuck.Load() {
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

// TestDeadPooledConnectionsRetryOnANewOne: when every idle connection has
// died silently (a firewall dropped them, the host behind the address
// failed over), the request that finds the first dead one is retried on a
// newly made connection, not on the next dead one, and succeeds.
func TestDeadPooledConnectionsRetryOnANewOne(t *testing.T) {
	s := startDirectory(t)
	f := newFreezer(t, strings.TrimPrefix(s.LDAPSURL, "ldaps://"))
	cfg := parseLDAP(t, s, searchConfig, "pool_size: 3")
	cfg.URLs = []string{"ldaps://" + f.addr()}
	cfg.StartTLS = false
	cfg.ServerName = "127.0.0.1"
	cfg.DialTimeout, cfg.BindTimeout, cfg.SearchTimeout = 2*time.Second, 500*time.Millisecond, 500*time.Millisecond
	b := newBackend(t, cfg)
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
	// Fill both pools with idle connections.
	for _, p := range []*pool{b.pool, b.bindPool} {
		var cs []*conn
		for range 3 {
			c, err := p.get(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		for _, c := range cs {
			p.put(c)
		}
	}

	f.freezeExisting()
	for _, c := range []struct {
		user, pw string
		want     authn.Decision
	}{{"alice", "alice-pw", authn.Grant}, {"bob", "wrong", authn.Deny}, {"carol", "carol-pw", authn.Grant}} {
		start := time.Now()
		mustDecide(t, b, c.user, c.pw, c.want)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("%s: took %s", c.user, d)
		}
	}
}
