package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/authn/dbuser"
	"github.com/portcullis/portcullis/internal/store"
)

func (h *handler) getMe(w http.ResponseWriter, _ *http.Request, caller *authn.Identity, _ string) {
	l := caller.Labels
	if l == nil {
		l = map[string][]string{}
	}
	writeJSON(w, http.StatusOK, Me{Account: caller.Account, Admin: caller.Admin, Source: caller.Source, Labels: l})
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request, _ *authn.Identity) {
	us, err := h.d.Store.ListUsers(r.Context())
	if err != nil {
		h.storeFailed(w, r, "list users", err)
		return
	}
	out := make([]User, 0, len(us))
	for _, u := range us {
		out = append(out, userJSON(u))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request, _ *authn.Identity) {
	name := r.PathValue("user")
	u, err := h.d.Store.GetUser(r.Context(), name)
	if h.userError(w, r, name, err) {
		return
	}
	writeJSON(w, http.StatusOK, userJSON(u))
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request, caller *authn.Identity) {
	var req CreateUserRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if err := dbuser.ValidateName(req.Name); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	}
	if err := dbuser.ValidateLabels(req.Labels); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	}
	hash, err := dbuser.HashPassword(req.Password, h.d.BcryptCost)
	if errors.Is(err, dbuser.ErrEmptyPassword) || errors.Is(err, dbuser.ErrPasswordTooLong) {
		writeError(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	}
	if err != nil {
		h.internal(w, r, "hash password", err)
		return
	}
	err = h.d.Store.CreateUser(r.Context(), store.User{Name: req.Name, PasswordHash: hash, Admin: req.Admin, Labels: req.Labels})
	if errors.Is(err, store.ErrAlreadyExists) {
		writeError(w, http.StatusConflict, codeAlreadyExists, fmt.Sprintf("user %s already exists", req.Name))
		return
	}
	if err != nil {
		h.storeFailed(w, r, "create user", err)
		return
	}
	h.d.Logger.InfoContext(r.Context(), "user created", "by", caller.Account, "user", req.Name, "admin", req.Admin)
	u, err := h.d.Store.GetUser(r.Context(), req.Name)
	if err != nil {
		h.storeFailed(w, r, "read back user", err)
		return
	}
	w.Header().Set("Location", Prefix+"/users/"+req.Name)
	writeJSON(w, http.StatusCreated, userJSON(u))
}

func (h *handler) updateUser(w http.ResponseWriter, r *http.Request, caller *authn.Identity) {
	name := r.PathValue("user")
	var req UpdateUserRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	upd := store.UserUpdate{Admin: req.Admin, Disabled: req.Disabled, Labels: req.Labels}
	if req.Labels != nil {
		if err := dbuser.ValidateLabels(req.Labels); err != nil {
			writeError(w, http.StatusBadRequest, codeInvalid, err.Error())
			return
		}
	}
	if req.Password != nil {
		hash, err := dbuser.HashPassword(*req.Password, h.d.BcryptCost)
		if errors.Is(err, dbuser.ErrEmptyPassword) || errors.Is(err, dbuser.ErrPasswordTooLong) {
			writeError(w, http.StatusBadRequest, codeInvalid, err.Error())
			return
		}
		if err != nil {
			h.internal(w, r, "hash password", err)
			return
		}
		upd.PasswordHash = hash
	}
	u, err := h.d.Store.UpdateUser(r.Context(), name, upd)
	if h.userError(w, r, name, err) {
		return
	}
	h.d.Logger.InfoContext(r.Context(), "user updated", "by", caller.Account, "user", name,
		"password_changed", req.Password != nil, "admin", req.Admin, "disabled", req.Disabled, "labels_changed", req.Labels != nil)
	writeJSON(w, http.StatusOK, userJSON(u))
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request, caller *authn.Identity) {
	name := r.PathValue("user")
	if err := h.d.Store.DeleteUser(r.Context(), name); h.userError(w, r, name, err) {
		return
	}
	h.d.Logger.InfoContext(r.Context(), "user removed", "by", caller.Account, "user", name)
	w.WriteHeader(http.StatusNoContent)
}

// userError answers for a failed user operation and reports whether it
// did (err != nil).
func (h *handler) userError(w http.ResponseWriter, r *http.Request, name string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no database user %s", name))
	case errors.Is(err, store.ErrLastAdmin):
		writeError(w, http.StatusConflict, codeLastAdmin, fmt.Sprintf("%s: %v", name, store.ErrLastAdmin))
	default:
		h.storeFailed(w, r, "user operation", err)
	}
	return true
}
