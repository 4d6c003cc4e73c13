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
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

var _ http.Flusher = (*recorder)(nil)
