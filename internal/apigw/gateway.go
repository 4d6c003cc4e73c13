package apigw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gwserver"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Deps are what the gateway needs from the server.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Keys is consulted for ids not in the keys file (nil: file only).
	Keys store.APIKeyStore
	// Replay shares replay protection between instances: the database
	// store for replay: store, Redis for replay: redis.
	Replay store.ReplayStore
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Gateway is the API-key gateway.
type Gateway struct {
	cfg      config.APIGatewayConfig
	logger   *slog.Logger
	now      func() time.Time
	verifier Verifier
	keys     *keyring
	replay   replayGuard
	limits   *limiters
	routes   []*route
	metrics  *metrics
	maxToken int
	bufs     *bufPool
	// noFastServer keeps every request on net/http (tests compare both).
	noFastServer bool
}

var _ http.Handler = (*Gateway)(nil)

// New builds the gateway from a validated configuration and loads the
// keys file.
func New(cfg config.APIGatewayConfig, d Deps) (*Gateway, error) {
	g := &Gateway{cfg: cfg, logger: d.Logger, now: d.Now, maxToken: cfg.MaxTokenBytes, bufs: newBufPool()}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.maxToken <= 0 {
		return nil, errors.New("max_token_bytes must be positive")
	}
	g.verifier = Verifier{Skew: cfg.ClockSkew, MaxLifetime: cfg.MaxTokenLifetime(), Newline: cfg.NewlineSignaturesEnabled(), Now: g.now}
	var ks store.APIKeyStore
	if cfg.StoreKeysEnabled() {
		ks = d.Keys
	}
	var err error
	if g.keys, err = newKeyring(cfg.KeysFile, ks, cfg.StoreKeyCacheTTL, g.logger); err != nil {
		return nil, err
	}
	switch cfg.Replay {
	case "memory", "":
		g.replay = newMemoryReplay(max(cfg.ReplayMaxEntries, 1000), g.now)
	case "store", "redis":
		if d.Replay == nil {
			return nil, fmt.Errorf("replay: %s needs a replay store", cfg.Replay)
		}
		g.replay = storeReplay{st: d.Replay}
	case "off":
		g.replay = noReplay{}
		g.logger.Warn("API-key gateway replay protection is off: a token works any number of times until it expires")
	default:
		return nil, fmt.Errorf("replay: unknown mode %q", cfg.Replay)
	}
	if !cfg.RateLimit.Disabled {
		g.limits = newLimiters(cfg.RateLimit.PerSecond, cfg.RateLimit.Burst)
	}
	if g.routes, err = buildRoutes(&cfg, g); err != nil {
		return nil, err
	}
	if len(g.routes) == 0 {
		return nil, errors.New("no routes")
	}
	if g.metrics, err = newMetrics(d.Registerer); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return g, nil
}

// Handler is the gateway's HTTP handler (what Run serves).
func (g *Gateway) Handler() http.Handler { return g }

// Reload re-reads the keys file (SIGHUP); on error the loaded keys stay.
func (g *Gateway) Reload() error { return g.keys.reload() }

// ServeHTTP checks the token, the route and the groups, then forwards.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A connection the fast server handed to net/http is not a
	// *tls.Conn to it: ReverseProxy needs r.TLS for X-Forwarded-Proto.
	r.TLS = gwserver.TLSState(r)
	ri := &reqInfo{start: time.Now()}
	rec := &recorder{ResponseWriter: w, idle: g.cfg.StreamIdleTimeout}
	logged := false
	defer func() {
		if !logged { // a panic (an answer cut short) is logged too
			g.finish(rec, r, ri)
		}
	}()
	rec.extendWrite()
	g.serve(rec, r, ri)
	if c, ok := w.(gwserver.Completer); ok {
		// The fast server sends the whole answer before the audit line
		// and the metrics are written, which are then off the latency.
		c.Complete()
	}
	logged = true
	g.finish(rec, r, ri)
}

// serve answers r: a refusal, or the upstream's answer.
func (g *Gateway) serve(rec *recorder, r *http.Request, ri *reqInfo) {
	if rec.idle > 0 && r.Body != nil && r.Body != http.NoBody {
		r.Body = &idleBody{ReadCloser: r.Body, ctl: rec.ctl, idle: rec.idle}
	}

	status, reason, msg := g.admit(r, ri)
	if status != 0 {
		ri.reason = reason
		switch status {
		case http.StatusTooManyRequests:
			rec.Header().Set("Retry-After", msg)
			msg = "rate limit exceeded; retry after " + msg + "s"
		case http.StatusServiceUnavailable:
			// A store that does not answer is usually back soon.
			rec.Header().Set("Retry-After", "1")
		}
		writeRefusal(rec, status, reason, msg)
		return
	}
	if f := ri.route.fast; f != nil && f.eligible(r) {
		f.serve(rec, r, ri)
		return
	}
	ri.route.proxy.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri)))
}

// admit runs every check in order and returns the refusal, or status 0.
func (g *Gateway) admit(r *http.Request, ri *reqInfo) (int, Reason, string) {
	auth := r.Header.Values("Authorization")
	if len(auth) > 1 {
		return http.StatusUnauthorized, ReasonMalformed, "more than one Authorization header"
	}
	var value string
	if len(auth) == 1 {
		value = auth[0]
	}
	tok, err := ParseAuthorization(value, g.maxToken)
	if err != nil {
		return refuseAuth(err)
	}
	key, err := g.keys.lookup(r.Context(), tok.ID)
	if err != nil {
		g.logger.Error("API key lookup failed", "err", err)
		return http.StatusServiceUnavailable, ReasonUnavailable, "key store unavailable"
	}
	if key == nil {
		// No HMAC is computed: an unknown id never meets an empty key.
		return http.StatusUnauthorized, ReasonUnknownKey, "unknown key id"
	}
	if err := g.verifier.VerifyKey(tok, key); err != nil {
		return refuseAuth(err)
	}
	ri.key = key
	if ok, wait := g.limits.allow(key.ID, g.now()); !ok {
		return http.StatusTooManyRequests, ReasonRateLimited, strconv.Itoa(retryAfter(wait))
	}
	p := r.URL.Path
	if !gwserver.CleanPath(p) {
		return http.StatusBadRequest, ReasonBadPath, "path must not contain //, . or .. segments"
	}
	ri.route = match(g.routes, p)
	if ri.route == nil {
		return http.StatusNotFound, ReasonNoRoute, "no route for this path"
	}
	if ok, why := ri.route.allow(key, p); !ok {
		return http.StatusForbidden, ReasonForbidden, why
	}
	fresh, err := g.replay.claim(r.Context(), tok, g.verifier.expires(tok))
	if err != nil {
		g.logger.Error("replay check failed", "err", err)
		return http.StatusServiceUnavailable, ReasonUnavailable, "replay check unavailable"
	}
	if !fresh {
		return http.StatusUnauthorized, ReasonReplayed, "token already used"
	}
	return 0, "", ""
}

func refuseAuth(err error) (int, Reason, string) {
	var ae *AuthError
	if errors.As(err, &ae) {
		return http.StatusUnauthorized, ae.Reason, ae.Message
	}
	return http.StatusUnauthorized, ReasonMalformed, "malformed token"
}

// finish writes the audit line and the metrics. Neither the token nor
// any secret is ever in them.
func (g *Gateway) finish(rec *recorder, r *http.Request, ri *reqInfo) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	g.metrics.observe(ri, status)
	ctx := r.Context()
	if !g.logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("key_id", ri.keyLabel()),
		slog.String("route", ri.routeLabel()),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(ri.start)),
		slog.Int64("bytes", rec.bytes),
		slog.String("remote", r.RemoteAddr),
	}
	if ri.reason != "" {
		attrs = append(attrs, slog.String("reason", string(ri.reason)))
	}
	if ri.err != nil {
		attrs = append(attrs, slog.String("err", ri.err.Error()))
	}
	g.logger.LogAttrs(ctx, slog.LevelInfo, "apigw request", attrs...)
}
