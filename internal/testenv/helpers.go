package testenv

import (
	"bytes"
	"net/http"
	"slices"
	"sync"
)

// Buffer is a bytes.Buffer that a server's goroutines may write while the
// test reads it (logs, command output).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// HeaderLines lists h as sorted "Key: value" lines, leaving out the keys
// in skip, so that two header sets compare as text.
func HeaderLines(h http.Header, skip ...string) []string {
	var lines []string
	for k, vv := range h {
		if slices.Contains(skip, k) {
			continue
		}
		for _, v := range vv {
			lines = append(lines, k+": "+v)
		}
	}
	slices.Sort(lines)
	return lines
}
