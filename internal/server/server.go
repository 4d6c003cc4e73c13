// Package server wires Portcullis together: it loads keys and
// certificates, opens the store, builds the authentication chain and the
// ACL, and serves the token service, the JSON API, JWKS, health and
// metrics on one listener, with the gateways on their own.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/acl"
	"github.com/portcullis/portcullis/internal/api"
	"github.com/portcullis/portcullis/internal/apigw"
	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/apptoken"
	"github.com/portcullis/portcullis/internal/authn/dbuser"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/engine"
	"github.com/portcullis/portcullis/internal/keys"
	"github.com/portcullis/portcullis/internal/store"
	redisstore "github.com/portcullis/portcullis/internal/store/redis"
	"github.com/portcullis/portcullis/internal/store/storeopen"
	"github.com/portcullis/portcullis/internal/token"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Server is a running Portcullis.
type Server struct {
	cfg      *config.Config
	logger   *slog.Logger
	out      io.Writer
	store    store.Store
	chain    *authn.Chain
	backends []authn.Authenticator
	// creds revokes sessions of file-backed users changed between runs.
	creds   *credRecord
	tokens  *token.Service
	keySet  *keys.Set
	reg     *prometheus.Registry
	handler http.Handler
	tlsCert *tls.Certificate
	usage   *store.UsageBuffer
	engine  *engine.Gateway
	apigw   *apigw.Gateway
	closers []func() error

	mu       sync.Mutex
	listener net.Listener
}

// New prepares everything the configuration asks for: it creates the data
// directory, TLS certificate and signing key on first start, opens and
// migrates the store and bootstraps the first admin. out receives the
// one-time messages meant for the operator (never the log).
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, out io.Writer) (*Server, error) {
	s := &Server{cfg: cfg, logger: logger, out: out, reg: prometheus.NewRegistry()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if !cfg.Server.Insecure {
		cert, created, err := keys.EnsureTLS(cfg.Server.TLSCert, cfg.Server.TLSKey, []string{"localhost", "127.0.0.1", "::1"}, 825*24*time.Hour)
		if err != nil {
			return nil, err
		}
		if created {
			fmt.Fprintf(out, "Created a self-signed TLS certificate for localhost at %s\n", cfg.Server.TLSCert)
		}
		s.tlsCert = &cert
	}
	ks, err := loadKeys(cfg, out)
	if err != nil {
		return nil, err
	}
	s.keySet = ks
	warnSigningCertExpiry(logger, cfg, ks, time.Now())
	if err := writeJWKS(cfg, ks); err != nil {
		return nil, err
	}

	st, err := storeopen.Open(ctx, cfg.Store, store.Options{})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.store = st
	s.closers = append(s.closers, st.Close)
	if usesType(cfg, "db") {
		if err := dbuser.Bootstrap(ctx, st, cfg.Authn.BcryptCost, out); err != nil {
			s.Close()
			return nil, fmt.Errorf("bootstrap admin: %w", err)
		}
	}

	chain, backends, rec, err := buildChain(ctx, cfg, st, logger)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.chain, s.backends, s.creds = chain, backends, rec
	for _, b := range backends {
		if c, ok := b.(io.Closer); ok {
			s.closers = append(s.closers, c.Close)
		}
		if c, ok := b.(prometheus.Collector); ok {
			if err := s.reg.Register(c); err != nil {
				s.Close()
				return nil, fmt.Errorf("register metrics of %s: %w", b.Name(), err)
			}
		}
	}

	rules := cfg.ACL
	if cfg.ACLDefault {
		rules = acl.Default()
	}
	compiled, err := acl.New(rules)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.usage = store.NewUsageBuffer(st.TouchRefreshTokens, 100000, logger)
	services := append([]string{cfg.Token.Service}, cfg.Token.Services...)
	s.tokens, err = token.New(token.Settings{
		Issuer: cfg.Token.Issuer, Services: services, Expiration: cfg.Token.Expiration,
		RefreshExpiration: cfg.Token.RefreshExpiration,
	}, token.Deps{
		Keys: ks, ACL: compiled, Authn: chain, Refresh: st, Usage: s.usage,
		Limit: apptoken.ScopeAllows, Logger: logger, Metrics: token.NewMetrics(s.reg),
		ClientIP: clientIPFunc(cfg.Server.TrustedProxies),
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	apiHandler := api.New(api.Deps{
		Store: st, Authn: chain, Logger: logger, MaxAppTokens: cfg.AppTokens.MaxPerUser,
		BcryptCost: cfg.Authn.BcryptCost, DefaultExpiry: cfg.AppTokens.DefaultExpiry,
		ClientIP: clientIPFunc(cfg.Server.TrustedProxies),
	})
	s.handler = s.routes(apiHandler)

	if cfg.Engine.Enabled {
		s.engine, err = engine.New(cfg.Engine, st, logger, s.reg) // engine.New adds component=engine
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("engine gateway: %w", err)
		}
	}
	if cfg.APIGateway.Enabled {
		var replay store.ReplayStore = st
		if cfg.APIGateway.Replay == "redis" {
			rc := cfg.APIGateway.Redis
			rs, err := redisstore.Open(ctx, redisstore.Options{URL: rc.URL, KeyPrefix: rc.KeyPrefix, CAFile: rc.CAFile})
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("api_gateway.redis: %w", err)
			}
			s.closers = append(s.closers, rs.Close)
			replay = rs
		}
		s.apigw, err = apigw.New(cfg.APIGateway, apigw.Deps{
			Logger: logger.With("component", "apigw"), Registerer: s.reg, Keys: st, Replay: replay,
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("API-key gateway: %w", err)
		}
	}
	return s, nil
}

func usesType(cfg *config.Config, typ string) bool {
	for _, a := range cfg.Authn.Chain {
		if a.Type == typ {
			return true
		}
	}
	return false
}

// Handler is the main listener's handler (tests mount it directly).
func (s *Server) Handler() http.Handler { return s.handler }

// Store is the opened store.
func (s *Server) Store() store.Store { return s.store }

// Chain is the authentication chain.
func (s *Server) Chain() *authn.Chain { return s.chain }

// Addr is the main listener's address once Run has started listening.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Listen binds the main listener (Run calls it when not done before).
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return nil
	}
	l, err := net.Listen("tcp", s.cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Server.Addr, err)
	}
	s.listener = l
	return nil
}

// Run serves until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchBackends(ctx, s.backends, s.creds)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.usage.Run(ctx, 10*time.Second) }()
	go s.purgeLoop(ctx)

	c := s.cfg.Server
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	if s.tlsCert != nil {
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*s.tlsCert}, MinVersion: tls.VersionTLS12}
	}
	errc := make(chan error, 3)
	go func() {
		var err error
		if s.tlsCert != nil {
			err = hs.ServeTLS(s.listener, "", "")
		} else {
			s.logger.Warn("serving plain HTTP (server.insecure_http): put a TLS-terminating proxy in front")
			err = hs.Serve(s.listener)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	scheme := "https"
	if s.tlsCert == nil {
		scheme = "http"
	}
	s.logger.Info("portcullis listening", "addr", s.listener.Addr().String(), "scheme", scheme, "token_route", s.cfg.Token.Route)
	if s.engine != nil {
		go func() {
			if err := s.engine.Run(ctx); err != nil {
				errc <- fmt.Errorf("engine gateway: %w", err)
			}
		}()
	}
	if s.apigw != nil {
		go func() {
			if err := s.apigw.Run(ctx); err != nil {
				errc <- fmt.Errorf("API-key gateway: %w", err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.logger.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.logger.Warn("graceful shutdown incomplete", "err", err)
	}
	cancel()
	wg.Wait()
	return runErr
}

// purgeLoop forgets expired replay entries now and then.
func (s *Server) purgeLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.store.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("purging expired replay entries failed", "err", err)
			}
		}
	}
}

// Reload re-reads htpasswd files, signing keys and API-key files (SIGHUP).
func (s *Server) Reload() {
	reloadBackends(s.backends, s.logger)
	ks, err := loadKeys(s.cfg, io.Discard)
	if err != nil {
		s.logger.Error("reloading signing keys failed; keeping the previous ones", "err", err)
	} else {
		s.tokens.SetKeys(ks)
		warnSigningCertExpiry(s.logger, s.cfg, ks, time.Now())
		s.mu.Lock()
		s.keySet = ks
		s.mu.Unlock()
		if err := writeJWKS(s.cfg, ks); err != nil {
			s.logger.Error("writing JWKS failed", "err", err)
		}
		s.logger.Info("signing keys reloaded", "keys", len(ks.All), "signer", ks.Signer.KID)
	}
	if s.apigw != nil {
		if err := s.apigw.Reload(); err != nil {
			s.logger.Error("reloading API keys failed", "err", err)
		}
	}
}

// Close releases the store and backends.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// loadKeys loads every configured key, generating any whose files do not
// exist yet (first start).
func loadKeys(cfg *config.Config, out io.Writer) (*keys.Set, error) {
	var all []*keys.Key
	signer := 0
	for i, kc := range cfg.Token.Keys {
		k, created, err := keys.Ensure(kc.Key, kc.Cert, kc.Alg, keys.GenerateOptions{CommonName: "portcullis token signing", Validity: 10 * 365 * 24 * time.Hour})
		if err != nil {
			return nil, fmt.Errorf("token.keys[%d]: %w", i, err)
		}
		if created {
			fmt.Fprintf(out, "Created a new %s signing key %s (kid %s)\n", kc.Alg, kc.Key, k.KID)
		}
		if kc.Sign {
			signer = i
		}
		if cfg.Token.OmitX5C {
			k = k.WithoutChain()
		}
		all = append(all, k)
	}
	return keys.NewSet(all, signer)
}

// certExpiryWarning is how long ahead an expiring signing certificate is
// reported.
const certExpiryWarning = 30 * 24 * time.Hour

// warnSigningCertExpiry reports a signing certificate that has expired or
// soon will: registries verify the x5c chain and refuse every token once
// it has, and nothing else would tell the operator why pushes and pulls
// fail. A key without a chain in its tokens (omit_x5c) is not concerned.
func warnSigningCertExpiry(logger *slog.Logger, cfg *config.Config, ks *keys.Set, now time.Time) {
	na := ks.Signer.NotAfter()
	if na.IsZero() {
		return
	}
	cert := ""
	for i, k := range ks.All {
		if k == ks.Signer && i < len(cfg.Token.Keys) {
			cert = cfg.Token.Keys[i].Cert
		}
	}
	attrs := []any{"cert", cert, "kid", ks.Signer.KID, "not_after", na.UTC().Format(time.RFC3339)}
	switch {
	case !now.Before(na):
		logger.Error("token signing certificate has expired: registries refuse its tokens; replace it (portcullis keys generate) and update the registries' rootcertbundle", attrs...)
	case na.Sub(now) < certExpiryWarning:
		logger.Warn("token signing certificate expires soon: registries will refuse its tokens then; rotate the key (portcullis keys generate)", attrs...)
	}
}

// writeJWKS writes DATA_DIR/jwks.json for registries configured with
// auth.token.jwks (a file path).
func writeJWKS(cfg *config.Config, ks *keys.Set) error {
	doc, err := ks.JWKS()
	if err != nil {
		return fmt.Errorf("JWKS: %w", err)
	}
	p := filepath.Join(cfg.DataDir, "jwks.json")
	// A temporary file of its own: instances sharing the data directory
	// may write at the same time.
	tmp, err := os.CreateTemp(cfg.DataDir, ".jwks.json.tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(doc)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return os.Rename(tmp.Name(), p)
}
