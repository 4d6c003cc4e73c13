// Package api is Portcullis' JSON API under /api/v1: users managing their
// own application tokens and sessions, and admins managing users and
// everyone's tokens and sessions.
//
// Every request authenticates with HTTP Basic and the user's password,
// through the same chain as the token service. App tokens are refused
// here (as in Portus): a leaked token in ~/.docker/config.json must not be
// enough to mint more tokens or to see the others.
package api

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/store"
)

// Prefix is where the server mounts the API.
const Prefix = "/api/v1"

// Deps are what the API needs from the server.
type Deps struct {
	Store         store.Store
	Authn         *authn.Chain
	Logger        *slog.Logger
	MaxAppTokens  int
	BcryptCost    int
	DefaultExpiry time.Duration
	// ClientIP returns the client's address (for last-used records and
	// authenticators that look at it); nil means the TCP peer.
	ClientIP func(*http.Request) netip.Addr
}

// handler serves the API.
type handler struct {
	d   Deps
	mux *http.ServeMux
}

var _ http.Handler = (*handler)(nil)

// New returns the handler of every path under /api/v1/.
func New(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.ClientIP == nil {
		d.ClientIP = peerIP
	}
	if d.BcryptCost == 0 {
		d.BcryptCost = 10
	}
	h := &handler{d: d, mux: http.NewServeMux()}
	h.routes()
	return h
}

func (h *handler) routes() {
	self := func(pattern string, f selfFunc) { h.mux.Handle(pattern, h.authenticated(h.asSelf(f))) }
	admin := func(pattern string, f adminFunc) { h.mux.Handle(pattern, h.authenticated(h.asAdmin(f))) }

	self("GET "+Prefix+"/me", h.getMe)

	self("GET "+Prefix+"/apptokens", h.listAppTokens)
	self("POST "+Prefix+"/apptokens", h.createAppToken)
	self("DELETE "+Prefix+"/apptokens/{token}", h.revokeAppToken)
	self("GET "+Prefix+"/sessions", h.listSessions)
	self("DELETE "+Prefix+"/sessions", h.revokeSessions)
	self("DELETE "+Prefix+"/sessions/{id}", h.revokeSession)

	admin("GET "+Prefix+"/users", h.listUsers)
	admin("POST "+Prefix+"/users", h.createUser)
	admin("GET "+Prefix+"/users/{user}", h.getUser)
	admin("PATCH "+Prefix+"/users/{user}", h.updateUser)
	admin("DELETE "+Prefix+"/users/{user}", h.deleteUser)
	admin("GET "+Prefix+"/users/{user}/apptokens", h.adminFor(h.listAppTokens))
	admin("POST "+Prefix+"/users/{user}/apptokens", h.adminFor(h.createAppToken))
	admin("DELETE "+Prefix+"/users/{user}/apptokens/{token}", h.adminFor(h.revokeAppToken))
	admin("GET "+Prefix+"/users/{user}/sessions", h.adminFor(h.listSessions))
	admin("DELETE "+Prefix+"/users/{user}/sessions", h.adminFor(h.revokeSessions))
	admin("DELETE "+Prefix+"/users/{user}/sessions/{id}", h.adminFor(h.revokeSession))
}

// ServeHTTP implements http.Handler. Paths and methods the mux does not
// know get the same JSON error shape as everything else.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if _, pattern := h.mux.Handler(r); pattern == "" {
		cw := &captureWriter{header: http.Header{}}
		h.mux.ServeHTTP(cw, r)
		if allow := cw.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		switch cw.status {
		case http.StatusMethodNotAllowed:
			writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "method "+r.Method+" is not allowed here")
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			writeError(w, http.StatusNotFound, codeNotFound, "no such API path; paths are not cleaned, use the canonical form")
		default:
			writeError(w, http.StatusNotFound, codeNotFound, "no such API path")
		}
		return
	}
	h.mux.ServeHTTP(w, r)
}

// captureWriter records what the mux's built-in 404/405 handlers write.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(s int) {
	if c.status == 0 {
		c.status = s
	}
}
func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return len(p), nil
}

func peerIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
