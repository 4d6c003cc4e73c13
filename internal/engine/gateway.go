package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// minEnvTokenLen refuses a guessable drop-in token.
const minEnvTokenLen = 32

// Gateway is the Docker Engine API gateway.
type Gateway struct {
	cfg      config.EngineConfig
	tokens   store.EngineTokenStore
	logger   *slog.Logger
	policies map[string]*Policy
	envHash  []byte
	target   *url.URL
	proxy    *httputil.ReverseProxy
	// direct forwards bodiless GET and HEAD requests; nil for a TLS
	// upstream.
	direct *directPool
	// noFastServer keeps every request on net/http (tests compare both).
	noFastServer bool
	usage        *store.UsageBuffer
	cache        *tokenCache
	metrics      *metrics
	now          func() time.Time
}

var _ http.Handler = (*Gateway)(nil)

// Option adjusts a Gateway.
type Option func(*Gateway)

// WithClock sets the clock that decides token expiry (tests).
func WithClock(now func() time.Time) Option { return func(g *Gateway) { g.now = now } }

// New builds a gateway. tokens may be nil when only the environment token
// (cfg.TokenEnv) is used; reg may be nil.
func New(cfg config.EngineConfig, tokens store.EngineTokenStore, logger *slog.Logger, reg prometheus.Registerer, opts ...Option) (*Gateway, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	target, transport, err := newUpstream(cfg)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:      cfg,
		tokens:   tokens,
		logger:   logger.With("component", "engine"),
		policies: compilePolicies(cfg),
		target:   target,
		metrics:  newMetrics(reg),
		now:      time.Now,
		cache:    newTokenCache(cfg.TokenCacheTTL),
	}
	for _, o := range opts {
		o(g)
	}
	if cfg.TokenEnv != "" && cfg.TokenEnv != "-" {
		if v, ok := os.LookupEnv(cfg.TokenEnv); ok && v != "" {
			if len(v) < minEnvTokenLen {
				return nil, fmt.Errorf("engine: %s is shorter than %d characters: set a random one (openssl rand -hex 32), or unset it and use stored tokens (portcullis engine token create)", cfg.TokenEnv, minEnvTokenLen)
			}
			g.envHash = HashToken(v)
		}
	}
	if tokens == nil && g.envHash == nil {
		g.logger.Warn("engine gateway has no token store and no environment token: every request will be refused", "env", cfg.TokenEnv)
	}
	if tokens != nil {
		g.usage = store.NewUsageBuffer(tokens.TouchEngineTokens, 10000, g.logger)
	}
	bp := newBufferPool()
	if dial := directDialer(cfg); dial != nil {
		g.direct = newDirectPool(dial, target.Host, transport.MaxIdleConnsPerHost, bp)
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:   g.rewrite,
		Transport: transport,
		// Responses of unknown length (logs -f, events, stats, pull and
		// build progress, docker save) are flushed on every write by
		// ReverseProxy itself; complete ones (Content-Length) are not,
		// which saves a write per request on the hot path.
		FlushInterval: 0,
		BufferPool:    bp,
		ErrorHandler:  g.proxyError,
		ErrorLog:      slog.NewLogLogger(g.logger.Handler(), slog.LevelDebug),
	}
	return g, nil
}

// Handler is the gateway as an http.Handler (the gateway itself).
func (g *Gateway) Handler() http.Handler { return g }

// rewrite builds the request to the daemon. Hop-by-hop headers, including
// any the client named in Connection, are already gone; the token headers
// go too, and the path is the normalised one the policy judged.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(g.target)
	pr.Out.Header.Del("Authorization")
	pr.Out.Header.Del("Token")
	pr.Out.Header.Del("Proxy-Authorization")
}

func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		// The client went away; nothing to answer.
		w.WriteHeader(499)
		return
	}
	g.logger.WarnContext(r.Context(), "engine upstream failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusBadGateway, "the Docker daemon is unreachable")
}

// Flush writes pending last-used times (tests and shutdown).
func (g *Gateway) Flush(ctx context.Context) error {
	if g.usage == nil {
		return nil
	}
	return g.usage.Flush(ctx)
}

// Metrics is the request counter by token and outcome (tests, dashboards).
func (g *Gateway) Metrics() *prometheus.CounterVec { return g.metrics.requests }
