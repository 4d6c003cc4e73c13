package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/apptoken"
	"github.com/portcullis/portcullis/internal/store"
)

// tokensPath is where the caller manages user's tokens, for messages and
// Location. The name is escaped: users of other backends may be named
// "John Doe" or "zoë".
func tokensPath(caller *authn.Identity, user string) string {
	if caller.Account == user {
		return Prefix + "/apptokens"
	}
	return Prefix + "/users/" + url.PathEscape(user) + "/apptokens"
}

func (h *handler) listAppTokens(w http.ResponseWriter, r *http.Request, _ *authn.Identity, user string) {
	toks, err := h.d.Store.ListAppTokens(r.Context(), user)
	if err != nil {
		h.storeFailed(w, r, "list app tokens", err)
		return
	}
	out := make([]AppToken, 0, len(toks))
	for _, t := range toks {
		out = append(out, appTokenJSON(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) createAppToken(w http.ResponseWriter, r *http.Request, caller *authn.Identity, user string) {
	var req CreateAppTokenRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if err := apptoken.ValidateName(req.Name); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	}
	if err := apptoken.ValidateScopes(req.Scopes); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	}
	lifetime := h.d.DefaultExpiry
	if req.Expires != "" {
		d, err := apptoken.ParseExpiry(req.Expires)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeInvalid, "expires: "+err.Error())
			return
		}
		lifetime = d
	}
	var expires time.Time
	if lifetime > 0 {
		expires = time.Now().Add(lifetime)
	}
	if user != caller.Account && !h.userKnown(w, r, user) {
		return
	}
	tok, err := apptoken.Create(r.Context(), h.d.Store, user, req.Name, req.Scopes, expires, h.d.MaxAppTokens)
	switch {
	case errors.Is(err, store.ErrLimitReached):
		writeError(w, http.StatusConflict, codeLimitReached, fmt.Sprintf(
			"user %s already has %d app tokens, the maximum; revoke one first with DELETE %s/NAME (list them with GET %s)",
			user, h.d.MaxAppTokens, tokensPath(caller, user), tokensPath(caller, user)))
		return
	case errors.Is(err, store.ErrAlreadyExists):
		writeError(w, http.StatusConflict, codeAlreadyExists, fmt.Sprintf("user %s already has an app token named %s", user, req.Name))
		return
	case errors.Is(err, apptoken.ErrInvalid):
		writeError(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	case err != nil:
		h.storeFailed(w, r, "create app token", err)
		return
	}
	h.d.Logger.InfoContext(r.Context(), "app token created", "by", caller.Account, "user", user, "token", req.Name, "expires", expires, "scopes", req.Scopes)
	stored, err := h.d.Store.GetAppTokenByHash(r.Context(), apptoken.Hash(tok))
	if err != nil {
		h.storeFailed(w, r, "read back app token", err)
		return
	}
	w.Header().Set("Location", tokensPath(caller, user)+"/"+url.PathEscape(req.Name))
	writeJSON(w, http.StatusCreated, CreatedAppToken{AppToken: appTokenJSON(stored), Token: tok})
}

func (h *handler) revokeAppToken(w http.ResponseWriter, r *http.Request, caller *authn.Identity, user string) {
	name := r.PathValue("token")
	if apptoken.ValidateName(name) != nil {
		writeError(w, http.StatusNotFound, codeNotFound, "no such app token")
		return
	}
	err := h.d.Store.DeleteAppToken(r.Context(), user, name)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("user %s has no app token named %s", user, name))
		return
	}
	if err != nil {
		h.storeFailed(w, r, "revoke app token", err)
		return
	}
	h.d.Logger.InfoContext(r.Context(), "app token revoked", "by", caller.Account, "user", user, "token", name)
	w.WriteHeader(http.StatusNoContent)
}

// userKnown reports whether an authenticator of the chain knows user (and
// the account is enabled); otherwise it answers 404.
func (h *handler) userKnown(w http.ResponseWriter, r *http.Request, user string) bool {
	_, ok, err := h.d.Authn.LookupUser(r.Context(), user)
	if err != nil {
		h.d.Logger.WarnContext(r.Context(), "API: user lookup failed", "user", user, "err", err)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "cannot look the user up now; try again later")
		return false
	}
	if !ok {
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no enabled user %s", user))
		return false
	}
	return true
}

// internal logs err and answers 500 without details.
func (h *handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.d.Logger.ErrorContext(r.Context(), "API: "+what+" failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, codeInternal, "internal error; see the server log")
}

// storeFailed answers for a store call that failed other than with one of
// the store's answers (not found, exists, limit, last admin): the database
// is down, restarting or not answering. That is 503, as on /token, so
// clients retry and monitoring tells it from a bug.
func (h *handler) storeFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.d.Logger.ErrorContext(r.Context(), "API: "+what+" failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the store is unavailable; try again later")
}
