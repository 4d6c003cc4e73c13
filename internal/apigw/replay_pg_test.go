package apigw

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/postgres"
	"github.com/portcullis/portcullis/internal/testenv"
)

// openPG opens a store on dsn, closed when t ends.
func openPG(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := postgres.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestReplayPGConcurrent sends each token to two gateways sharing one
// PostgreSQL at the same moment, several times over: exactly one of the
// copies is forwarded, every other is refused as replayed.
func TestReplayPGConcurrent(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.StartPostgres(t)
	up := newUpstream(t)
	y := "replay: store\nrate_limit: {disabled: true}\n" + seedRouteYAML
	keys := "key001=" + seedKey001 + "\n"
	gws := []*testGW{
		startGW(t, gwOpts{yaml: y, keys: keys, upstream: up.URL, deps: Deps{Replay: openPG(t, dsn)}}),
		startGW(t, gwOpts{yaml: y, keys: keys, upstream: up.URL, deps: Deps{Replay: openPG(t, dsn)}}),
	}
	const tokens, copies = 25, 3 // copies per gateway
	for i := range tokens {
		tok := fresh("001", seedKey001, 20*time.Second)
		var (
			wg       sync.WaitGroup
			start    = make(chan struct{})
			ok, repl atomic.Int32
			mu       sync.Mutex
			other    []answer
		)
		for _, g := range gws {
			for range copies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest("GET", g.url+"/x", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					<-start
					resp, err := g.client.Do(req)
					if err != nil {
						mu.Lock()
						other = append(other, answer{status: -1, body: []byte(err.Error())})
						mu.Unlock()
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch a := (answer{status: resp.StatusCode, body: body}); {
					case resp.StatusCode == http.StatusOK:
						ok.Add(1)
					case resp.StatusCode == http.StatusUnauthorized && containsReason(body, ReasonReplayed):
						repl.Add(1)
					default:
						mu.Lock()
						other = append(other, a)
						mu.Unlock()
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 || repl.Load() != 2*copies-1 || len(other) != 0 {
			t.Fatalf("token %d: %d accepted, %d refused as replayed, others %v", i, ok.Load(), repl.Load(), other)
		}
	}
}

func containsReason(body []byte, r Reason) bool {
	return strings.Contains(string(body), `"reason":"`+string(r)+`"`)
}

// pgRelay stands between the gateway's store and PostgreSQL, so a test
// can take the database away (connections cut and refused) or make it
// hang (connections held open, nothing answered).
type pgRelay struct {
	ln     net.Listener
	target string
	mode   atomic.Int32 // relayUp, relayDown, relayHang
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

const (
	relayUp int32 = iota
	relayDown
	relayHang
)

func newPGRelay(t *testing.T, target string) *pgRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &pgRelay{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() {
		ln.Close()
		r.closeAll()
	})
	go r.serve()
	return r
}

func (r *pgRelay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		switch r.mode.Load() {
		case relayDown:
			c.Close()
			continue
		case relayHang:
			r.track(c) // held open, never answered
			continue
		}
		s, err := net.DialTimeout("tcp", r.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		r.track(c)
		r.track(s)
		go r.pipe(s, c)
		go r.pipe(c, s)
	}
}

func (r *pgRelay) track(c net.Conn) {
	r.mu.Lock()
	r.conns[c] = struct{}{}
	r.mu.Unlock()
}

// pipe copies from src to dst while the relay is up; in hang mode it
// holds what it read.
func (r *pgRelay) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			for r.mode.Load() == relayHang {
				time.Sleep(20 * time.Millisecond)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *pgRelay) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		c.Close()
	}
	clear(r.conns)
}

// set changes the mode; down also cuts every open connection.
func (r *pgRelay) set(mode int32) {
	r.mode.Store(mode)
	if mode == relayDown {
		r.closeAll()
	}
}

// relayDSN is dsn with its host replaced by the relay's address.
func relayDSN(t *testing.T, dsn string, r *pgRelay) (string, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	u.Host = r.ln.Addr().String()
	return u.String(), target
}

// TestReplayPGUnavailable: when PostgreSQL is down or stops answering,
// the gateway refuses (503, reason unavailable) promptly instead of
// forwarding or hanging, and accepts again once the database is back;
// a token refused that way was not used up, a token accepted before is
// still refused.
func TestReplayPGUnavailable(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.StartPostgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	relay := newPGRelay(t, u.Host)
	rdsn, _ := relayDSN(t, dsn, relay)
	st := openPG(t, rdsn)
	const secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	if err := st.CreateAPIKey(context.Background(), store.APIKey{ID: "db1", Secret: secret, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t)
	g := startGW(t, gwOpts{yaml: "replay: store\nstore_key_cache_ttl: 1ms\n" + seedRouteYAML, keys: "key001=" + seedKey001 + "\n",
		upstream: up.URL, deps: Deps{Keys: st, Replay: st}})

	used := fresh("001", seedKey001, 50*time.Second)
	g.do(t, "GET", "/x", used).want(t, http.StatusOK, "")

	// timed sends tok and fails unless the answer comes within limit.
	timed := func(t *testing.T, tok string, limit time.Duration) answer {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", g.url+"/x", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		begin := time.Now()
		resp, err := g.client.Do(req)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("no answer after %s: the gateway waits for the store without a deadline", time.Since(begin).Round(time.Millisecond))
			}
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if took := time.Since(begin); took > limit {
			t.Fatalf("answered after %s, want within %s", took.Round(time.Millisecond), limit)
		}
		a := answer{status: resp.StatusCode, header: resp.Header, body: body}
		if resp.StatusCode >= 400 {
			for _, r := range []Reason{ReasonUnavailable, ReasonReplayed} {
				if containsReason(body, r) {
					a.reason = r
				}
			}
		}
		return a
	}

	for _, m := range []struct {
		name string
		mode int32
	}{{"down", relayDown}, {"hang", relayHang}} {
		t.Run(m.name, func(t *testing.T) {
			relay.set(m.mode)
			tok := fresh("001", seedKey001, 50*time.Second)
			a := timed(t, tok, 2*storeTimeout+time.Second)
			a.want(t, http.StatusServiceUnavailable, ReasonUnavailable)
			if a.header.Get("Retry-After") != "1" {
				t.Errorf("503 with Retry-After %q, want 1", a.header.Get("Retry-After"))
			}
			if !strings.Contains(string(a.body), "replay check unavailable") {
				t.Fatalf("body %s does not say what failed", a.body)
			}
			// A key kept in the store cannot be looked up either.
			a = timed(t, fresh("db1", secret, 50*time.Second), 2*storeTimeout+time.Second)
			a.want(t, http.StatusServiceUnavailable, ReasonUnavailable)

			relay.set(relayDown) // cut what hang left open
			relay.set(relayUp)
			deadline := time.Now().Add(15 * time.Second)
			for {
				a = timed(t, tok, 2*storeTimeout+time.Second)
				if a.status == http.StatusOK || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			a.want(t, http.StatusOK, "")
			timed(t, used, 2*storeTimeout+time.Second).want(t, http.StatusUnauthorized, ReasonReplayed)
			timed(t, fresh("db1", secret, 50*time.Second), 2*storeTimeout+time.Second).want(t, http.StatusOK, "")
		})
	}
	if logs := g.logs.String(); !strings.Contains(logs, "replay check failed") {
		t.Fatalf("the store failure is not in the log:\n%s", tail(logs, 2000))
	}
}
