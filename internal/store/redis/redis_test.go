package redis

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

func open(t *testing.T, url string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, Options{URL: url, KeyPrefix: "test:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func claim(t *testing.T, s *Store, key string, exp time.Time) bool {
	t.Helper()
	ok, err := s.ClaimOnce(context.Background(), key, exp)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestClaimOnce(t *testing.T) {
	r := testenv.StartRedis(t)
	s := open(t, r.URL)
	exp := time.Now().Add(1500 * time.Millisecond)
	if !claim(t, s, "sig-1", exp) {
		t.Fatal("first claim refused")
	}
	if claim(t, s, "sig-1", exp) {
		t.Fatal("second claim accepted")
	}
	if !claim(t, s, "sig-2", exp) || !claim(t, s, "SIG-1", exp) {
		t.Fatal("another key refused (keys are exact)")
	}
	// Another instance sharing the Redis sees the claim.
	if claim(t, open(t, r.URL), "sig-1", exp) {
		t.Fatal("second instance accepted a claimed key")
	}
	// Another prefix is another deployment.
	ctx := context.Background()
	other, err := Open(ctx, Options{URL: r.URL, KeyPrefix: "other:"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if !claim(t, other, "sig-1", exp) {
		t.Fatal("a key claimed under another prefix refused")
	}
	// Redis forgets the key at its expiry.
	time.Sleep(time.Until(exp) + 100*time.Millisecond)
	if !claim(t, s, "sig-1", time.Now().Add(time.Minute)) {
		t.Fatal("claim refused after expiry")
	}
	if claim(t, s, "sig-1", time.Now().Add(time.Minute)) {
		t.Fatal("re-claimed key accepted twice")
	}
	// An expiry already past needs no record.
	past := time.Now().Add(-time.Second)
	for range 2 {
		if !claim(t, s, "old", past) {
			t.Fatal("a claim expiring in the past refused")
		}
	}
	for _, k := range []string{"", strings.Repeat("k", 513)} {
		if _, err := s.ClaimOnce(ctx, k, exp); err == nil {
			t.Errorf("key of %d bytes accepted", len(k))
		}
	}
	if err := s.PurgeExpired(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentClaims: of many claims of one key from two instances at
// once, exactly one wins.
func TestConcurrentClaims(t *testing.T) {
	r := testenv.StartRedis(t)
	a, b := open(t, r.URL), open(t, r.URL)
	for round := range 20 {
		key := "race-" + string(rune('a'+round))
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 16 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				<-start
				ok, err := s.ClaimOnce(context.Background(), key, time.Now().Add(time.Minute))
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d claims won", round, n)
		}
	}
}

// TestRedisDown: a claim that cannot reach Redis is an error (the gateway
// refuses with 503), never a success; it works again once Redis is back.
func TestRedisDown(t *testing.T) {
	r := testenv.StartRedis(t)
	s := open(t, r.URL)
	r.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, err := s.ClaimOnce(ctx, "k", time.Now().Add(time.Minute))
	if err == nil || ok {
		t.Fatalf("claim with Redis down: %v %v", ok, err)
	}
	if !strings.Contains(err.Error(), r.Addr) || strings.Contains(err.Error(), r.Password) {
		t.Fatalf("error should name the server and not the password: %v", err)
	}
	r.Start()
	ok, err = s.ClaimOnce(ctx, "k", time.Now().Add(time.Minute))
	if err != nil || !ok {
		t.Fatalf("claim after Redis came back: %v %v", ok, err)
	}
}

func TestOpenErrors(t *testing.T) {
	r := testenv.StartRedis(t)
	for _, c := range []struct{ url, want string }{
		{"redis://:wrong-secret@" + r.Addr + "/0", "WRONGPASS"},
		{"http://" + r.Addr, "redis URL http://" + r.Addr},
		{"redis://:wrong-secret@" + r.Addr + "/0?no_such_option=1", "redis URL redis://:xxxxx@"},
		{"rediss://:wrong-secret@" + r.Addr + "/0", r.Addr},
		{"redis://" + testenv.Addr(testenv.FreePort(t)) + "/0", "connect"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := Open(ctx, Options{URL: c.url})
		cancel()
		if err == nil {
			s.Close()
			t.Errorf("%s: opened", c.url)
			continue
		}
		t.Logf("%s: %v", c.url, err)
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("%s: error %q should contain %q and not the password", c.url, err, c.want)
		}
	}
	if _, err := Open(context.Background(), Options{URL: r.URL, CAFile: "/nonexistent"}); err == nil || !strings.Contains(err.Error(), "rediss://") {
		t.Errorf("a CA file on redis:// accepted: %v", err)
	}
}
