package keys

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Several processes starting at once on one fresh data directory (two
// replicas sharing a volume) each run Ensure and EnsureTLS. All of them
// must end up with the same files, and none may fail on a pair the other
// is half-way through writing.
func TestEnsureConcurrentFirstStart(t *testing.T) {
	for round := 0; round < 20; round++ {
		dir := t.TempDir()
		const n = 8
		kids := make([]string, n)
		certs := make([][]byte, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c, _, err := EnsureTLS(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), []string{"localhost"}, time.Hour)
				if err != nil {
					errs[i] = err
					return
				}
				certs[i] = c.Certificate[0]
				k, _, err := Ensure(filepath.Join(dir, "signing.key"), filepath.Join(dir, "signing.crt"), "ES256", GenerateOptions{Validity: time.Hour})
				if err != nil {
					errs[i] = err
					return
				}
				kids[i] = k.KID
			}()
		}
		close(start)
		wg.Wait()
		for i := 0; i < n; i++ {
			if errs[i] != nil {
				t.Fatalf("round %d, starter %d: %v", round, i, errs[i])
			}
			if kids[i] != kids[0] || !bytes.Equal(certs[i], certs[0]) {
				t.Fatalf("round %d: starters use different keys or certificates (%s, %s)", round, kids[0], kids[i])
			}
		}
		onDisk, _, err := Ensure(filepath.Join(dir, "signing.key"), filepath.Join(dir, "signing.crt"), "ES256", GenerateOptions{})
		if err != nil || onDisk.KID != kids[0] {
			t.Fatalf("round %d: the key on disk (%v) is not the one in use (%s)", round, err, kids[0])
		}
	}
}
