package engine

import (
	"bufio"
	"net"
	"net/http"
)

// recorder remembers the status written through it, including the 101 of
// a hijacked upgrade, for the audit log and metrics.
type recorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
	// onHijack runs once the connection is taken over.
	onHijack func()
}

var (
	_ http.Flusher  = (*recorder)(nil)
	_ http.Hijacker = (*recorder)(nil)
)

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 || r.status == http.StatusContinue {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack is called by the reverse proxy once the daemon answered 101.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil {
		r.status = http.StatusSwitchingProtocols
		r.hijacked = true
		if r.onHijack != nil {
			r.onHijack()
		}
	}
	return c, rw, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
