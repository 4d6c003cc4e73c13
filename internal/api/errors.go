package api

import (
	"encoding/json"
	"net/http"
)

// Error codes: the "error" field of every error response. Clients branch
// on these; "message" is for people and may change.
const (
	codeUnauthorized     = "unauthorized"
	codeAppTokenRefused  = "app_token_refused"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeInvalid          = "invalid_request"
	codeUnsupportedType  = "unsupported_media_type"
	codeTooLarge         = "request_too_large"
	codeAlreadyExists    = "already_exists"
	codeLimitReached     = "limit_reached"
	codeLastAdmin        = "last_admin"
	codeUnavailable      = "unavailable"
	codeInternal         = "internal_error"
)

// errorBody is the JSON of every error.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
