package token

import (
	"encoding/json"
	"net/http"
)

// registryError is the registry's error body, extended with the OAuth2
// error fields so that both kinds of client print something useful.
type registryError struct {
	Errors []errorEntry `json:"errors"`
	// OAuth2 (RFC 6749 section 5.2) fields for POST clients.
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers with the registry's JSON error format. A 401 carries
// a WWW-Authenticate challenge.
func writeError(w http.ResponseWriter, status int, code, oauthCode, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="Portcullis token service", charset="UTF-8"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(registryError{
		Errors:           []errorEntry{{Code: code, Message: msg}},
		Error:            oauthCode,
		ErrorDescription: msg,
	})
}
