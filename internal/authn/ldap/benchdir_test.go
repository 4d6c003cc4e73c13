package ldap

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestServeBenchDirectory is not a test: scripts/bench-ldap runs it to get
// the same slapd, fixture and test CA the tests use. With
// PORTCULLIS_BENCH_SLAPD_DIR set, it starts slapd, writes slapd.env (URL,
// LDAPS_URL, CA_FILE) into that directory and serves until a file named
// "stop" appears there, SIGTERM, or 30 minutes pass.
func TestServeBenchDirectory(t *testing.T) {
	dir := os.Getenv("PORTCULLIS_BENCH_SLAPD_DIR")
	if dir == "" {
		t.Skip("helper for scripts/bench-ldap; set PORTCULLIS_BENCH_SLAPD_DIR to run")
	}
	s := testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: "testdata/directory.ldif"})
	env := fmt.Sprintf("URL=%s\nLDAPS_URL=%s\nCA_FILE=%s\n", s.URL, s.LDAPSURL, s.CAFile)
	tmp := filepath.Join(dir, "slapd.env.tmp")
	if err := os.WriteFile(tmp, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "slapd.env")); err != nil {
		t.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	deadline := time.After(30 * time.Minute)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-sig:
			return
		case <-deadline:
			return
		case <-tick.C:
			if _, err := os.Stat(filepath.Join(dir, "stop")); err == nil {
				return
			}
		}
	}
}
