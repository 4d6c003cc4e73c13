// Package api is Portcullis' JSON API under /api/v1: users managing their
// own application tokens and sessions, and admins managing everyone's.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/store"
)

// Deps are what the API needs from the server.
type Deps struct {
	Store         store.Store
	Authn         *authn.Chain
	Logger        *slog.Logger
	MaxAppTokens  int
	BcryptCost    int
	DefaultExpiry time.Duration
}

// New returns the /api/v1/ handler.
// TODO(api): placeholder until the API lands.
func New(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"not_implemented"}`, http.StatusNotImplemented)
	})
}
