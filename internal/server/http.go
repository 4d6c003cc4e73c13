package server

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) routes(apiHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, r := range append([]string{s.cfg.Token.Route}, s.cfg.Token.Aliases...) {
		mux.Handle(r, s.tokenMethods())
		if !strings.HasSuffix(r, "/") {
			mux.Handle(r+"/", s.tokenMethods())
		}
	}
	mux.HandleFunc("GET /.well-known/jwks.json", s.serveJWKS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.Handle("/api/v1/", apiHandler)
	return securityHeaders(mux)
}

// tokenMethods answers GET and POST; other methods get 405 with Allow.
func (s *Server) tokenMethods() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodPost:
			s.tokens.ServeHTTP(w, r)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	ks := s.keySet
	s.mu.Unlock()
	doc, err := ks.JWKS()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write(doc)
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.logger.Warn("not ready: store unreachable", "err", err)
		http.Error(w, "store unreachable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ready\n"))
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// clientIPFunc returns the client address: the peer, or, when the peer is
// a trusted proxy, the right-most X-Forwarded-For entry that is not one.
// An entry may carry a port (some proxies write 192.0.2.7:4711 or
// [2001:db8::7]:4711). An entry that names no address makes the client
// unknown (it matches no ACL ip list): answering with the proxy's own
// address instead would give every client behind it the proxy's rights.
func clientIPFunc(trusted []string) func(*http.Request) netip.Addr {
	var nets []netip.Prefix
	for _, t := range trusted {
		if p, err := netip.ParsePrefix(t); err == nil {
			nets = append(nets, p)
		}
	}
	isTrusted := func(a netip.Addr) bool {
		for _, n := range nets {
			if n.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) netip.Addr {
		peer := netip.Addr{}
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			peer = ap.Addr().Unmap()
		}
		if len(nets) == 0 || !isTrusted(peer) {
			return peer
		}
		xff := strings.Join(r.Header.Values("X-Forwarded-For"), ",")
		if strings.TrimSpace(xff) == "" {
			return peer
		}
		parts := strings.Split(xff, ",")
		for i := len(parts) - 1; i >= 0; i-- {
			a, ok := forwardedAddr(strings.TrimSpace(parts[i]))
			if !ok {
				return netip.Addr{}
			}
			if !isTrusted(a) {
				return a
			}
		}
		return peer
	}
}

// forwardedAddr parses one X-Forwarded-For entry: an address, or an
// address and port.
func forwardedAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
