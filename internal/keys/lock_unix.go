//go:build unix

package keys

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on directory dir, held until
// the returned function is called, so that processes starting at once on
// one data directory create its keys and certificates once, not over one
// another. It is best-effort: where the directory cannot be opened or
// locked (a file system without locks) it returns at once, as before.
func lockDir(dir string) (unlock func()) {
	f, err := os.Open(dir)
	if err != nil {
		return func() {}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}
