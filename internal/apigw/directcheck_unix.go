//go:build unix

package apigw

import (
	"errors"
	"net"
	"syscall"
)

// directSupported: the idle-connection check below needs a Unix socket.
const directSupported = true

// idleConnOK reports whether an idle upstream connection may carry the
// next request: nothing unsolicited waiting to be read (which would be
// taken for the next answer) and not closed by the upstream. One
// non-blocking read; http.Transport gets the same from its reader
// goroutine, which watches idle connections.
func idleConnOK(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	healthy := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		// EAGAIN: nothing to read, still open. A read of 0 bytes: closed.
		// Bytes: data nobody asked for. The last two drop the connection.
		_, rerr := syscall.Read(int(fd), buf[:])
		healthy = errors.Is(rerr, syscall.EAGAIN)
		return true
	})
	return err == nil && healthy
}
