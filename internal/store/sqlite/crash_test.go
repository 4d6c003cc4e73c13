package sqlite_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/store"
	"github.com/portcullis/portcullis/internal/store/sqlite"
)

// crashEnv tells a re-executed test binary to act as the writer;
// crashFirstEnv is the first token number it writes.
const (
	crashEnv      = "PORTCULLIS_SQLITE_CRASH_CHILD_DB"
	crashFirstEnv = "PORTCULLIS_SQLITE_CRASH_CHILD_FIRST"
)

// Shape of the burst: crashWriters goroutines each create tokens one after
// another; a writer is given crashPerWriter numbers per round.
const (
	crashWriters   = 4
	crashPerWriter = 25_000
	crashRounds    = 3
)

// crashToken is token i as the writer creates it; the parent recomputes it
// to check every stored field.
func crashToken(i int) store.AppToken {
	name := strconv.Itoa(i)
	h := sha256.Sum256([]byte("crash-" + name))
	return store.AppToken{
		User:      fmt.Sprintf("user%d", i%7),
		Name:      name,
		Hash:      h[:],
		Scopes:    []string{"repository:team/app" + name + ":pull,push", "registry:catalog:*"},
		ExpiresAt: time.Date(2040, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
}

// TestCrashWriter is the child: crashWriters goroutines create tokens
// concurrently and report each acknowledged one on stdout, until killed
// (or bounded out).
func TestCrashWriter(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("only run as the child of TestCrashSafety")
	}
	first, err := strconv.Atoi(os.Getenv(crashFirstEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad", crashFirstEnv, err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for k := range crashPerWriter {
				i := first + w*crashPerWriter + k
				if err := s.CreateAppToken(ctx, crashToken(i), 0); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				// Written only after CreateAppToken returned: an
				// acknowledged token. Flushed at once, as a server would
				// answer its client.
				mu.Lock()
				fmt.Fprintf(out, "ack %d %x\n", i, crashToken(i).Hash)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}

// TestCrashSafety kills a writing process with SIGKILL in the middle of a
// burst of concurrent token creations, several times over on the same
// file, and checks after each kill that the store opens, that every token
// the writer acknowledged is there and whole, and that nothing
// half-written is.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	acked := map[int]string{}
	for round := range crashRounds {
		got := crashRound(t, path, round*crashWriters*crashPerWriter)
		t.Logf("round %d: %d tokens acknowledged before SIGKILL", round, len(got))
		for i, h := range got {
			acked[i] = h
		}
		verifyAfterCrash(t, path, acked, round+1)
		if t.Failed() {
			return
		}
	}
}

// crashRound runs one writer from token number first and kills it about
// half a second after its first acknowledgement. It returns the hashes the
// writer acknowledged, by token number.
func crashRound(t *testing.T, path string, first int) map[int]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path, crashFirstEnv+"="+strconv.Itoa(first))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]string{}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var kill <-chan time.Time
	deadline := time.After(30 * time.Second)
read:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break read
			}
			f := strings.Fields(l)
			if len(f) != 3 || f[0] != "ack" {
				continue // test framework chatter
			}
			i, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("bad line %q", l)
			}
			acked[i] = f[2]
			if kill == nil {
				kill = time.After(500 * time.Millisecond)
			}
		case <-kill:
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			kill = nil
		case <-deadline:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("writer produced nothing within 30s")
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer was not killed mid-burst: %v", err)
	}
	if len(acked) < 10 {
		t.Fatalf("only %d tokens acknowledged before the kill", len(acked))
	}
	return acked
}

// verifyAfterCrash reopens the store as a restarted Portcullis would and
// checks it against everything acknowledged so far.
func verifyAfterCrash(t *testing.T, path string, acked map[int]string, rounds int) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	for i, h := range acked {
		want := crashToken(i)
		if hex.EncodeToString(want.Hash) != h {
			t.Fatalf("ack %d names hash %s, want %x", i, h, want.Hash)
		}
		got, err := s.GetAppTokenByHash(t.Context(), want.Hash)
		if err != nil {
			t.Errorf("acknowledged token %d lost: %v", i, err)
			continue
		}
		if got.User != want.User || got.Name != want.Name || !reflect.DeepEqual(got.Scopes, want.Scopes) ||
			!got.ExpiresAt.Equal(want.ExpiresAt) || got.CreatedAt.IsZero() {
			t.Errorf("token %d stored as %+v", i, got)
		}
	}
	// Every stored row is whole: it is exactly some token i. Beyond the
	// acknowledged ones, each writer goroutine may have had one committed
	// but not yet reported when it was killed.
	all, err := s.ListAppTokens(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < len(acked) || len(all) > len(acked)+crashWriters*rounds {
		t.Errorf("%d tokens stored, %d acknowledged", len(all), len(acked))
	}
	for _, got := range all {
		i, err := strconv.Atoi(got.Name)
		want := crashToken(i)
		if err != nil || got.User != want.User || !reflect.DeepEqual(got.Hash, want.Hash) ||
			!reflect.DeepEqual(got.Scopes, want.Scopes) || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Errorf("half-written or foreign row: %+v", got)
		}
	}
	var check string
	if err := rawDB(t, path).QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}
