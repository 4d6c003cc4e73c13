package apigw

import (
	"context"
	"net/http"
	"time"
)

// reqInfo follows one request through the gateway for the audit line and
// the metrics.
type reqInfo struct {
	start    time.Time
	key      *Key // verified key, nil before
	route    *route
	reason   Reason
	upstream time.Duration // until response headers
	err      error         // upstream error, for the log
}

func (ri *reqInfo) routeLabel() string {
	if ri.route == nil {
		return ""
	}
	return ri.route.prefix
}

func (ri *reqInfo) keyLabel() string {
	if ri.key == nil {
		return ""
	}
	return ri.key.ID
}

type reqInfoKey struct{}

func reqInfoFrom(ctx context.Context) *reqInfo {
	ri, _ := ctx.Value(reqInfoKey{}).(*reqInfo)
	return ri
}

// recorder notes the status and size of an answer. Unwrap lets
// http.ResponseController reach the connection for flushes and upgrades.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	// idle is stream_idle_timeout: each write must complete within it.
	idle time.Duration
	ctl  *http.ResponseController
}

// extendWrite moves the client connection's write deadline to idle from
// now. The deadline is set at the start of every request too, so one set
// for a request never outlives the next one's start.
func (r *recorder) extendWrite() {
	if r.idle <= 0 {
		return
	}
	if r.ctl == nil {
		r.ctl = http.NewResponseController(r.ResponseWriter)
	}
	_ = r.ctl.SetWriteDeadline(time.Now().Add(r.idle))
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 || r.status < 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.extendWrite()
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	r.extendWrite()
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

var _ http.Flusher = (*recorder)(nil)
