package server_test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// dbLink is a TCP relay between Portcullis and PostgreSQL that a test can
// cut (as a database restart does) or freeze (as a network partition or a
// stopped database host does: connections stay open, nothing comes back).
type dbLink struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  []net.Conn
	down   bool // refuse new connections
	frozen bool // hold every byte in flight
}

func startDBLink(t *testing.T, target string) *dbLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &dbLink{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		l.set(false, false)
		l.cut()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			down := l.down
			l.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			l.mu.Lock()
			l.conns = append(l.conns, c, u)
			l.mu.Unlock()
			go l.pipe(c, u)
			go l.pipe(u, c)
		}
	}()
	return l
}

// pipe copies src to dst, holding what it read while the link is frozen.
func (l *dbLink) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for l.isFrozen() {
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (l *dbLink) isFrozen() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.frozen
}

func (l *dbLink) set(down, frozen bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down, l.frozen = down, frozen
}

// cut closes every relayed connection.
func (l *dbLink) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

// TestPostgresOutage: while the database is unreachable or stops
// answering, logins, readiness and the JSON API answer 503 within a
// bounded time (not a hung request, not a 401 or 500), and once it is
// back they succeed again without restarting Portcullis.
func TestPostgresOutage(t *testing.T) {
	testenv.Integration(t)
	// The server-side statement_timeout, from which Portcullis bounds each
	// store call on its side too; short, so the test is.
	const statementTimeout = time.Second
	const answerWithin = statementTimeout + 4*time.Second
	for _, tc := range []struct {
		name    string
		outage  func(l *dbLink)
		restore func(l *dbLink)
	}{
		{"connections cut, database refuses", func(l *dbLink) { l.set(true, false); l.cut() }, func(l *dbLink) { l.set(false, false) }},
		{"database stops answering", func(l *dbLink) { l.set(false, true) }, func(l *dbLink) { l.set(false, false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn, err := url.Parse(testenv.StartPostgres(t))
			if err != nil {
				t.Fatal(err)
			}
			link := startDBLink(t, dsn.Host)
			dsn.Host = link.ln.Addr().String()
			q := dsn.Query()
			q.Set("statement_timeout", "1s") // statementTimeout, in a form operators write
			dsn.RawQuery = q.Encode()
			in := startPortcullis(t, publicACL+fmt.Sprintf("store:\n  type: postgres\n  dsn: %q\n", dsn.String()))
			in.client.Timeout = answerWithin + 5*time.Second

			tok := in.apiToken(t, "alice", testUsers["alice"], `{"name":"ci"}`)
			const scope = "repository:alice/app:pull"
			wantToken(t, in, "alice", tok, scope, http.StatusOK, "pull")

			tc.outage(link)
			for range 2 {
				start := time.Now()
				st, _, body := in.tokenStatus(t, "alice", tok, scope)
				if took := time.Since(start); st != http.StatusServiceUnavailable || took > answerWithin {
					t.Fatalf("login during the outage: %d after %v, want 503 within %v\n%s", st, took.Round(time.Millisecond), answerWithin, body)
				}
			}
			start := time.Now()
			if st := in.readyz(t); st != http.StatusServiceUnavailable || time.Since(start) > answerWithin {
				t.Fatalf("/readyz during the outage: %d after %v", st, time.Since(start))
			}
			// alice's password is checked without the database (htpasswd);
			// what she asks of the API then needs it.
			for _, call := range [][3]string{
				{"GET", "/api/v1/apptokens", ""},
				{"POST", "/api/v1/apptokens", `{"name":"during"}`},
				{"DELETE", "/api/v1/apptokens/ci", ""},
				{"GET", "/api/v1/sessions", ""},
			} {
				start := time.Now()
				st, body := in.apiCall(t, call[0], call[1], "alice", testUsers["alice"], call[2])
				if took := time.Since(start); st != http.StatusServiceUnavailable || !strings.Contains(string(body), `"unavailable"`) || took > answerWithin {
					t.Fatalf("%s %s during the outage: %d after %v, want 503 unavailable within %v\n%s", call[0], call[1], st, took.Round(time.Millisecond), answerWithin, body)
				}
			}

			tc.restore(link)
			deadline := time.Now().Add(answerWithin + 5*time.Second)
			for {
				st, _, body := in.tokenStatus(t, "alice", tok, scope)
				if st == http.StatusOK {
					break
				}
				if st != http.StatusServiceUnavailable || time.Now().After(deadline) {
					t.Fatalf("login after the database came back: %d\n%s", st, body)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if st := in.readyz(t); st != http.StatusOK {
				t.Fatalf("/readyz after the database came back: %d", st)
			}
			if st, body := in.apiCall(t, "GET", "/api/v1/apptokens", "alice", testUsers["alice"], ""); st != http.StatusOK {
				t.Fatalf("API after the database came back: %d %s", st, body)
			}
		})
	}
}

// readyz returns the status of GET /readyz.
func (in *instance) readyz(t *testing.T) int {
	t.Helper()
	resp, err := in.client.Get(in.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A password changed in the htpasswd file while the database is
// unreachable still revokes the user's sessions: the revocation that
// failed at the reload is retried once the database is back, instead of
// the change being recorded as handled and the old sessions living on.
func TestHtpasswdChangeDuringOutageRevokesSessions(t *testing.T) {
	testenv.Integration(t)
	dsn, err := url.Parse(testenv.StartPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	link := startDBLink(t, dsn.Host)
	dsn.Host = link.ln.Addr().String()
	in := startPortcullis(t, publicACL+fmt.Sprintf("store:\n  type: postgres\n  dsn: %q\n", dsn.String()))

	resp, tr, body := in.getToken(t, "/token", "alice", testUsers["alice"],
		url.Values{"service": {"registry"}, "offline_token": {"true"}, "client_id": {"docker"}})
	if resp.StatusCode != http.StatusOK || tr.RefreshToken == "" {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	if st := in.refreshStatus(t, tr.RefreshToken); st != http.StatusOK {
		t.Fatalf("refresh before the change: %d", st)
	}

	link.set(true, false)
	link.cut()
	in.setHtpasswdPassword(t, "alice", "alice-new-secret")
	// The watcher polls every 2s; wait for the reload's failed revocation.
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(in.Logs(), "revoking the sessions of a changed user failed"); {
		if time.Now().After(deadline) {
			t.Fatal("the reload did not try to revoke alice's sessions")
		}
		time.Sleep(100 * time.Millisecond)
	}

	link.set(false, false)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := in.refreshStatus(t, tr.RefreshToken)
		if st == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's session made with her old password still works (%d) %v after the database came back", st, 20*time.Second)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
