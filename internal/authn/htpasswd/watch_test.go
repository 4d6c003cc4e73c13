package htpasswd

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestWatchIgnoresHalfWrittenFile: htpasswd(1) and editors rewrite the
// file in place, so a check can catch it empty. The watcher must not load
// that moment: it would drop every user and revoke their sessions.
func TestWatchIgnoresHalfWrittenFile(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	full := []byte("alice:" + string(h) + "\nbob:" + string(h) + "\n")
	if err := os.WriteFile(path, full, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := New("htpasswd", path, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var dropped []string
	b.SetInvalidator(func(u string) { mu.Lock(); dropped = append(dropped, u); mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Watch(ctx, 800*time.Millisecond); close(done) }()
	for range 16 {
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
		// Empty for a seventh of a check interval: a check often lands
		// in it (the old watcher loaded it), and even a loaded machine
		// does not stretch it to span two checks.
		time.Sleep(120 * time.Millisecond)
		if err := os.WriteFile(path, full, 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(313 * time.Millisecond) // not a divisor of the interval: the checks drift over the moments
	}
	// A real change is still picked up.
	if err := os.WriteFile(path, []byte("alice:"+string(h)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := append([]string(nil), dropped...)
		mu.Unlock()
		if len(got) > 0 {
			if len(got) != 1 || got[0] != "bob" {
				t.Fatalf("sessions revoked for %q; only bob was removed", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("removing bob was never picked up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}
