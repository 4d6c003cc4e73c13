package engine

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// ServeHTTP authenticates, authorises, inspects and forwards one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, onHijack: g.metrics.upgraded.Inc}
	tokenName, outcome, rule := "-", "allowed", ""
	defer func() {
		g.finish(r, rec, tokenName, outcome, rule, start)
	}()

	refuse := func(e *httpError) {
		outcome = e.Outcome
		if r.ContentLength != 0 {
			// net/http would read what is left of the body, with no
			// deadline, before sending the refusal: close instead.
			rec.Header().Set("Connection", "close")
		}
		writeError(rec, e.Status, e.Msg)
	}

	forward, match, err := normalizePath(r.URL)
	if err != nil {
		refuse(&httpError{Status: http.StatusBadRequest, Outcome: "bad_request", Msg: "path refused: encoded separators, backslashes and dot segments are not forwarded"})
		return
	}
	c, herr := g.authenticate(r.Context(), r.Header)
	if herr != nil {
		if herr.Status == http.StatusUnauthorized && registryCredentialCall(r.Method, match) {
			// On these calls the Engine API's 401 means "registry
			// credentials needed": the docker CLI would prompt for a
			// registry login (and, without a terminal, wait forever)
			// instead of printing the message.
			herr.Status = http.StatusForbidden
		}
		refuse(herr)
		return
	}
	tokenName = c.Name
	rt := classify(r.Method, match)
	d := c.Policy.Decide(rt)
	rule = d.Rule
	if !d.Allowed {
		refuse(&httpError{Status: http.StatusForbidden, Outcome: "forbidden",
			Msg: "token " + quote(c.Name) + " may not " + r.Method + " " + match + ": " + d.Rule})
		return
	}
	if rt.Build && c.Policy.rules != nil {
		if herr := checkBuild(r, c.Policy); herr != nil {
			if herr.Outcome == "forbidden" {
				rule = herr.Msg
				herr.Msg = "token " + quote(c.Name) + ": " + herr.Msg
			}
			refuse(herr)
			return
		}
	}
	if c.Policy.inspects(rt.Body) {
		if herr := g.inspect(r, rt.Body, c.Policy); herr != nil {
			if herr.Outcome == "forbidden" {
				rule = herr.Msg
				herr.Msg = "token " + quote(c.Name) + ": " + herr.Msg
			}
			refuse(herr)
			return
		}
	}
	if c.hash != nil && g.usage != nil {
		g.usage.Record(c.hash, start, r.RemoteAddr)
	}
	r.URL.Path, r.URL.RawPath = forward, ""
	if g.direct.usable(r) {
		sent, err := g.direct.serve(rec, r, r.URL.RequestURI())
		switch {
		case err == nil:
		case !sent:
			g.proxyError(rec, r, err)
		case errors.Is(err, errUpstreamBody):
			// Cut the client's response as ReverseProxy does, so a
			// truncated body is not taken for a complete one.
			panic(http.ErrAbortHandler)
		}
		return
	}
	g.proxy.ServeHTTP(rec, r)
	if rec.hijacked {
		g.metrics.upgraded.Dec()
	}
}

// inspect reads the whole body of r whatever its framing (bounded by
// MaxInspectBytes), judges it and, when it passes, puts back exactly those
// bytes with an exact Content-Length, so the daemon reads what was judged.
func (g *Gateway) inspect(r *http.Request, k bodyKind, p *Policy) *httpError {
	if ce := strings.TrimSpace(r.Header.Get("Content-Encoding")); ce != "" && !strings.EqualFold(ce, "identity") {
		return &httpError{Status: http.StatusUnsupportedMediaType, Outcome: "bad_request", Msg: "encoded request bodies cannot be inspected"}
	}
	limit := g.cfg.MaxInspectBytes
	if r.ContentLength > limit {
		return &httpError{Status: http.StatusRequestEntityTooLarge, Outcome: "too_large", Msg: "request body too large to inspect"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return &httpError{Status: http.StatusBadRequest, Outcome: "bad_request", Msg: "reading the request body failed"}
	}
	if int64(len(body)) > limit {
		return &httpError{Status: http.StatusRequestEntityTooLarge, Outcome: "too_large", Msg: "request body too large to inspect"}
	}
	_ = r.Body.Close()
	if err := inspectBody(k, body, p.rules); err != nil {
		var v *violation
		if errors.As(err, &v) {
			return &httpError{Status: http.StatusForbidden, Outcome: "forbidden", Msg: "policy " + quote(p.Name) + " refuses this: " + v.Error()}
		}
		return &httpError{Status: http.StatusBadRequest, Outcome: "bad_request", Msg: "request body refused: " + err.Error()}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r.Header.Del("Transfer-Encoding")
	r.Header.Del("Content-Encoding")
	return nil
}

// finish writes the audit line and the metrics of one request: every
// mutating call and every refusal is logged, never the token.
func (g *Gateway) finish(r *http.Request, rec *recorder, token, outcome, rule string, start time.Time) {
	d := time.Since(start)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	if outcome == "allowed" && status == http.StatusBadGateway && rec.Header().Get("Api-Version") == "" {
		outcome = "upstream_error"
	}
	g.metrics.requests.WithLabelValues(token, outcome).Inc()
	g.metrics.duration.WithLabelValues(outcome).Observe(d.Seconds())
	mutating := r.Method != http.MethodGet && r.Method != http.MethodHead
	if outcome == "allowed" && !mutating {
		return
	}
	level := slog.LevelInfo
	if outcome != "allowed" {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("token", token),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("outcome", outcome),
		slog.String("remote", r.RemoteAddr),
	}
	if rule != "" {
		attrs = append(attrs, slog.String("rule", rule))
	}
	g.logger.LogAttrs(r.Context(), level, "engine request", attrs...)
}

func quote(s string) string { return "\"" + s + "\"" }
