package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// maxBodyBytes bounds every request body: the largest legitimate one (a
// user with labels) is a few KiB.
const maxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into v, refusing unknown
// fields, trailing data, other media types and bodies over maxBodyBytes.
// Requiring application/json also keeps browsers holding Basic
// credentials from being used cross-site: a form cannot send it without a
// CORS preflight, which this API never approves. It writes the error
// response and returns false on failure.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, codeUnsupportedType, "send the body as Content-Type: application/json")
		return false
	}
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes))
			return false
		}
		writeError(w, http.StatusBadRequest, codeInvalid, "invalid JSON body: "+jsonErrorText(err))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, codeInvalid, "invalid JSON body: one object expected, found more data after it")
		return false
	}
	return true
}

// jsonErrorText describes a decoding error without echoing input.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type (want %s)", te.Field, te.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is empty or cut short"
	default:
		// Unknown-field errors name the field, which is the caller's own
		// input and useful to them; length is bounded by the body limit.
		msg := err.Error()
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return msg
	}
}
