package apigw

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/postgres"
	"github.com/portcullis/portcullis/internal/store/sqlite"
	"github.com/portcullis/portcullis/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

// TestReplayAcrossInstances runs two gateways on one PostgreSQL store: a
// token accepted by one is refused by the other, and keys created in the
// store work on both.
func TestReplayAcrossInstances(t *testing.T) {
	testenv.Integration(t)
	dsn := testenv.StartPostgres(t)
	ctx := context.Background()
	open := func() *postgres.Store {
		st, err := postgres.Open(ctx, dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	stA, stB := open(), open()
	const secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	if err := stA.CreateAPIKey(ctx, store.APIKey{ID: "db1", Secret: secret, Groups: []string{"watcher"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t)
	y := "replay: store\n" + seedRouteYAML
	a := startGW(t, gwOpts{yaml: y, upstream: up.URL, deps: Deps{Keys: stA, Replay: stA}})
	b := startGW(t, gwOpts{yaml: y, upstream: up.URL, deps: Deps{Keys: stB, Replay: stB}})

	tok := fresh("db1", secret, 10*time.Second)
	ans := a.do(t, "GET", "/x", tok)
	ans.want(t, http.StatusOK, "")
	if ans.echo.KeyID != "db1" || ans.echo.Groups != "watcher" {
		t.Fatalf("upstream saw %+v", ans.echo)
	}
	b.do(t, "GET", "/x", tok).want(t, http.StatusUnauthorized, ReasonReplayed)
	a.do(t, "GET", "/x", tok).want(t, http.StatusUnauthorized, ReasonReplayed)
	// The same signature re-encoded as hex is the same token.
	h, p, _ := splitToken(tok)
	b.do(t, "GET", "/x", h+"."+p+"."+sigHex(secret, h+"."+p)).want(t, http.StatusUnauthorized, ReasonReplayed)
	// A fresh token works on the other instance.
	b.do(t, "GET", "/x", fresh("db1", secret, 10*time.Second)).want(t, http.StatusOK, "")
}

// TestStoreKeys looks keys up in a SQLite store; a revoked key stops
// working once the cache entry expires, and a key in the file wins.
func TestStoreKeys(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateAPIKey(ctx, store.APIKey{ID: "s1", Secret: seedKey002, Groups: []string{"stats"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// The file's 001 shadows a stored 001 with another secret.
	if err := st.CreateAPIKey(ctx, store.APIKey{ID: "001", Secret: seedKey002, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t)
	g := startGW(t, gwOpts{yaml: "store_key_cache_ttl: 100ms\n" + seedRouteYAML, keys: "key001=" + seedKey001 + "\n", upstream: up.URL, deps: Deps{Keys: st, Replay: st}})
	g.do(t, "GET", "/x", fresh("s1", seedKey002, 10*time.Second)).want(t, http.StatusOK, "")
	g.do(t, "GET", "/x", fresh("001", seedKey001, 10*time.Second)).want(t, http.StatusOK, "")
	g.do(t, "GET", "/x", fresh("001", seedKey002, 10*time.Second)).want(t, http.StatusUnauthorized, ReasonBadSignature)
	if err := st.DeleteAPIKey(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	g.do(t, "GET", "/x", fresh("s1", seedKey002, 10*time.Second)).want(t, http.StatusUnauthorized, ReasonUnknownKey)
}
