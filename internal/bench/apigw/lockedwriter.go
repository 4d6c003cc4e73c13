package main

import (
	"io"
	"sync"
)

var bufMu sync.Mutex

// lockedWriter serialises writes to a buffered writer shared with the
// flusher.
type lockedWriter struct{ w io.Writer }

func (l *lockedWriter) Write(p []byte) (int, error) {
	bufMu.Lock()
	defer bufMu.Unlock()
	return l.w.Write(p)
}
