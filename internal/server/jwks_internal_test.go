package server

import (
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/keys"
)

// Instances sharing a data directory write its jwks.json at the same time
// (at start and on SIGHUP); none of them may fail for it.
func TestWriteJWKSConcurrently(t *testing.T) {
	dir := t.TempDir()
	k, err := keys.Generate("ES256", keys.GenerateOptions{Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.NewSet([]*keys.Key{k}, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{DataDir: dir}
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := writeJWKS(cfg, ks); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
