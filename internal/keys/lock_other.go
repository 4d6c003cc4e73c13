//go:build !unix

package keys

// lockDir is a no-op where flock is not available.
func lockDir(string) (unlock func()) { return func() {} }
