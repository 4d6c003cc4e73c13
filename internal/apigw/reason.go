package apigw

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Reason is the code a refusal carries in its JSON body, the log and the
// metrics.
type Reason string

// Refusal reasons. The first six answer 401.
const (
	ReasonBadSignature Reason = "bad_signature"
	ReasonExpired      Reason = "expired"
	ReasonReplayed     Reason = "replayed"
	ReasonUnknownKey   Reason = "unknown_key"
	ReasonMalformed    Reason = "malformed"
	ReasonTooLongLived Reason = "too_long_lived"

	ReasonForbidden   Reason = "forbidden"    // 403: group or action not allowed
	ReasonNoRoute     Reason = "no_route"     // 404
	ReasonRateLimited Reason = "rate_limited" // 429
	ReasonBadPath     Reason = "bad_path"     // 400: path not in canonical form
	ReasonUnavailable Reason = "unavailable"  // 503: replay cache or key store down
	ReasonBadGateway  Reason = "bad_gateway"  // 502
	ReasonTimeout     Reason = "upstream_timeout"
)

// AuthError is a refused token: its reason and a message safe to show the
// client (never the token or a key).
type AuthError struct {
	Reason  Reason
	Message string
}

func (e *AuthError) Error() string { return string(e.Reason) + ": " + e.Message }

func authErr(r Reason, msg string) *AuthError { return &AuthError{Reason: r, Message: msg} }

// refusal is the JSON body of every answer the gateway makes itself.
type refusal struct {
	Error   string `json:"error"`
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
}

// writeRefusal answers status with the JSON body clients parse.
func writeRefusal(w http.ResponseWriter, status int, reason Reason, msg string) {
	body, _ := json.Marshal(refusal{Error: http.StatusText(status), Reason: reason, Message: msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
