package ldap

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/testenv"
)

// wantBackendError asserts an error wrapping authn.ErrBackend and no
// decision.
func wantBackendError(t *testing.T, res authn.Result, err error) {
	t.Helper()
	if err == nil || !errors.Is(err, authn.ErrBackend) {
		t.Fatalf("want an error wrapping ErrBackend, got %+v, %v", res, err)
	}
	if res.Decision != authn.Abstain || res.Identity != nil {
		t.Fatalf("an error came with a decision: %+v", res)
	}
}

func TestDirectoryDownAndBack(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, searchConfig, "pool_size: 2"))
	// Fill the pool, so that the restart leaves dead connections in it.
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
	mustDecide(t, b, "bob", "bob-pw", authn.Grant)

	s.Stop()
	for _, u := range []string{"alice", "bob", "mallory"} {
		start := time.Now()
		res, err := login(t, b, u, u+"-pw")
		wantBackendError(t, res, err)
		if !strings.Contains(err.Error(), s.URL) {
			t.Fatalf("error does not name the server: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("failure took %s", d)
		}
	}

	s.Start()
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
	mustDecide(t, b, "alice", "wrong", authn.Deny)
	if st := b.Stats(); st.Errors != 3 || st.DialFailures == 0 {
		t.Fatalf("stats %+v", st)
	}

	// A restart between two requests leaves only dead connections in the
	// pool; the next request still succeeds.
	s.Stop()
	s.Start()
	mustDecide(t, b, "bob", "bob-pw", authn.Grant)
	if st := b.Stats(); st.Errors != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// blackhole accepts connections and never answers.
func blackhole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestUnresponsiveServerTimesOut(t *testing.T) {
	testenv.Integration(t)
	addr := blackhole(t)
	for _, urls := range []string{"ldap://" + addr, "ldaps://" + addr} {
		t.Run(urls, func(t *testing.T) {
			extra := []string{"urls: [" + urls + "]", "dial_timeout: 500ms", "bind_timeout: 500ms", "search_timeout: 500ms"}
			if strings.HasPrefix(urls, "ldap:") {
				extra = append(extra, "start_tls: true")
			}
			b := newBackend(t, parseLDAP(t, &testenv.Slapd{}, `
bind_dn: cn=svc
bind_password: x
base_dn: dc=example,dc=org
user_filter: (uid={username})
`, extra...))
			start := time.Now()
			res, err := login(t, b, "alice", "alice-pw")
			wantBackendError(t, res, err)
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %s with 500ms timeouts", d)
			}
		})
	}
}

func TestFailover(t *testing.T) {
	s := startDirectory(t)
	dead := "ldap://" + testenv.Addr(testenv.FreePort(t))
	b := newBackend(t, parseLDAP(t, s, strings.Replace(searchConfig, "urls: [{{.URL}}]", "urls: ["+dead+", {{.URL}}]", 1)))
	tr, err := b.Lookup(t.Context(), "alice", "alice-pw")
	if err != nil || tr.Decision != authn.Grant || tr.Server != s.URL {
		t.Fatalf("trace %+v, err %v", tr, err)
	}
}

func TestServiceAccountRefused(t *testing.T) {
	s := startDirectory(t)
	b := newBackend(t, parseLDAP(t, s, strings.Replace(searchConfig, "bind_password: svc-secret", "bind_password: not-it", 1)))
	res, err := login(t, b, "alice", "alice-pw")
	wantBackendError(t, res, err)
	if !strings.Contains(err.Error(), "service account") {
		t.Fatalf("error %v", err)
	}
}

func TestServiceAccountPasswordFile(t *testing.T) {
	s := startDirectory(t)
	f := t.TempDir() + "/bindpw"
	if err := writeFile(f, "svc-secret\n"); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, parseLDAP(t, s, strings.Replace(searchConfig, "bind_password: svc-secret", "bind_password_file: "+f, 1)))
	mustDecide(t, b, "alice", "alice-pw", authn.Grant)
}
