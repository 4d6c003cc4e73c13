package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// The starter config tells how to make the htpasswd file it names; the
// command it shows must work on a fresh data directory, where the file does
// not exist yet.
func TestInitHtpasswdHintWorks(t *testing.T) {
	bin := testenv.Require(t, "htpasswd", "/usr/bin/htpasswd")
	dir := t.TempDir()
	if _, err := runKeysCLI(t, "init", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "portcullis.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)path: (\S+)\s+#.*?(htpasswd -\S+ (\S+) alice)`).FindStringSubmatch(string(conf))
	if m == nil {
		t.Fatalf("no htpasswd command next to the htpasswd path:\n%s", conf)
	}
	if m[1] != m[3] {
		t.Fatalf("the command writes %s, the config reads %s", m[3], m[1])
	}
	args := strings.Fields(m[2])[1:]
	// -i: the password from stdin instead of the terminal the test lacks.
	cmd := exec.Command(bin, append([]string{"-i"}, args...)...)
	cmd.Stdin = strings.NewReader("s3cret-pass\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", m[2], err, out)
	}
	b, err := os.ReadFile(m[1])
	if err != nil || !strings.HasPrefix(string(b), "alice:$2y$") {
		t.Fatalf("htpasswd file after %q: %q %v", m[2], b, err)
	}
}
