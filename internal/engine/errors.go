package engine

import (
	"encoding/json"
	"net/http"
)

// writeError answers with the daemon's error JSON, {"message": "..."},
// which the docker CLI prints as "Error response from daemon: ...".
func writeError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="portcullis-engine"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{"portcullis: " + msg})
}
