package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/store"
)

// maxSessionIDLen bounds the id taken from the path.
const maxSessionIDLen = 128

func (h *handler) listSessions(w http.ResponseWriter, r *http.Request, _ *authn.Identity, user string) {
	ss, err := h.d.Store.ListRefreshTokens(r.Context(), user)
	if err != nil {
		h.storeFailed(w, r, "list sessions", err)
		return
	}
	out := make([]Session, 0, len(ss))
	for _, s := range ss {
		out = append(out, sessionJSON(s))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) revokeSession(w http.ResponseWriter, r *http.Request, caller *authn.Identity, user string) {
	id := r.PathValue("id")
	if id == "" || len(id) > maxSessionIDLen {
		writeError(w, http.StatusNotFound, codeNotFound, "no such session")
		return
	}
	// The store deletes by (user, id): a session of another user is not
	// found, whoever asks.
	err := h.d.Store.DeleteRefreshToken(r.Context(), user, id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("user %s has no session %s", user, id))
		return
	}
	if err != nil {
		h.storeFailed(w, r, "revoke session", err)
		return
	}
	h.d.Logger.InfoContext(r.Context(), "session revoked", "by", caller.Account, "user", user, "session", id)
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) revokeSessions(w http.ResponseWriter, r *http.Request, caller *authn.Identity, user string) {
	n, err := h.d.Store.DeleteRefreshTokens(r.Context(), user)
	if err != nil {
		h.storeFailed(w, r, "revoke sessions", err)
		return
	}
	h.d.Logger.InfoContext(r.Context(), "sessions revoked", "by", caller.Account, "user", user, "count", n)
	writeJSON(w, http.StatusOK, Revoked{Revoked: n})
}
