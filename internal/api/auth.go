package api

import (
	"net/http"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/apptoken"
)

// Bounds on Basic credentials, checked before anything hashes them.
const (
	maxUserLen     = 256
	maxPasswordLen = 1024
)

const appTokenRefused = "app tokens cannot be used for the API; authenticate with your password (app tokens are only for registry logins)"

// selfFunc handles a request about user: the caller, or any user when an
// administrator calls the /users/{user}/... form.
type selfFunc func(w http.ResponseWriter, r *http.Request, caller *authn.Identity, user string)

// adminFunc handles a request only administrators may make.
type adminFunc func(w http.ResponseWriter, r *http.Request, caller *authn.Identity)

// authenticated checks the Basic credentials with the chain and accepts
// only identities proven by a password.
func (h *handler) authenticated(next func(http.ResponseWriter, *http.Request, *authn.Identity)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user == "" || pass == "" {
			unauthorized(w, "authenticate with HTTP Basic: your user name and password")
			return
		}
		if len(user) > maxUserLen || len(pass) > maxPasswordLen {
			unauthorized(w, "invalid user name or password")
			return
		}
		// Refused before the chain: an app token is never even looked up
		// here, so the API cannot be used to probe tokens either.
		if apptoken.LooksLike(pass) {
			h.d.Logger.InfoContext(r.Context(), "API: app token refused", "user", user)
			writeError(w, http.StatusForbidden, codeAppTokenRefused, appTokenRefused)
			return
		}
		ctx := r.Context()
		res, err := h.d.Authn.Authenticate(ctx, authn.Credentials{Username: user, Password: pass, RemoteAddr: h.d.ClientIP(r)})
		if err != nil {
			h.d.Logger.WarnContext(ctx, "API: authentication backend failed", "user", user, "err", err)
			writeError(w, http.StatusServiceUnavailable, codeUnavailable, "authentication is unavailable; try again later")
			return
		}
		if res.Decision != authn.Grant {
			h.d.Logger.InfoContext(ctx, "API: authentication failed", "user", user, "reason", res.Reason)
			unauthorized(w, "invalid user name or password")
			return
		}
		if res.Identity.Kind != authn.KindPassword {
			h.d.Logger.InfoContext(ctx, "API: credential kind refused", "user", user, "kind", res.Identity.Kind)
			writeError(w, http.StatusForbidden, codeAppTokenRefused, appTokenRefused)
			return
		}
		next(w, r, res.Identity)
	})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="portcullis API", charset="UTF-8"`)
	writeError(w, http.StatusUnauthorized, codeUnauthorized, msg)
}

// asSelf runs f about the caller's own account.
func (h *handler) asSelf(f selfFunc) func(http.ResponseWriter, *http.Request, *authn.Identity) {
	return func(w http.ResponseWriter, r *http.Request, id *authn.Identity) { f(w, r, id, id.Account) }
}

// asAdmin runs f for administrators only.
func (h *handler) asAdmin(f adminFunc) func(http.ResponseWriter, *http.Request, *authn.Identity) {
	return func(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
		if !id.Admin {
			writeError(w, http.StatusForbidden, codeForbidden, "only administrators may do this; manage your own tokens and sessions under /api/v1/apptokens and /api/v1/sessions")
			return
		}
		f(w, r, id)
	}
}

// adminFor runs a self handler about the user named in the path: a user
// of any backend, so any name a backend could hold (not only database
// user names).
func (h *handler) adminFor(f selfFunc) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
		user := r.PathValue("user")
		if err := apptoken.ValidateOwner(user); err != nil {
			writeError(w, http.StatusNotFound, codeNotFound, "no such user")
			return
		}
		f(w, r, id, user)
	}
}
