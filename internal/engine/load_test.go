package engine_test

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLargeImageLoadSave streams a 200 MiB image through the gateway:
// import (request body), save (response body) and load (request body),
// and checks that save after load is byte-identical to save before.
func TestLargeImageLoadSave(t *testing.T) {
	g := startGateway(t, nil)
	c := g.client(g.token("admin", "full", time.Time{}))
	dir := t.TempDir()

	// A root file system with one 200 MiB random file.
	layer := filepath.Join(dir, "layer.tar")
	f, err := os.Create(layer)
	if err != nil {
		t.Fatal(err)
	}
	const size = 200 << 20
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: "big.bin", Mode: 0o644, Size: size, ModTime: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	ref := uniqueName("gwbig") + ":1"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	imp := c.cmd(ctx, "import", layer, ref)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = g.d.Cmd(ctx, "rmi", "-f", ref).Run()
	})

	save := func(path string) string {
		t.Helper()
		c.run("save", "-o", path, ref)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() < size {
			t.Fatalf("saved image is %d bytes, want more than %d", fi.Size(), size)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	first := filepath.Join(dir, "first.tar")
	before := save(first)
	c.run("rmi", ref)
	if out := c.run("load", "-i", first); !strings.Contains(out, ref) {
		t.Fatalf("docker load output: %q", out)
	}
	after := save(filepath.Join(dir, "second.tar"))
	if before != after {
		t.Fatalf("save after load differs: %s != %s", before, after)
	}
}
