package engine

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/internal/store"
)

// EnvTokenName is the name the drop-in DOCKER_API_TOKEN goes by in logs
// and metrics.
const EnvTokenName = "env"

// caller is an authenticated token.
type caller struct {
	Name   string
	Policy *Policy
	// hash is the stored token's hash, for last-used times; nil for the
	// environment token.
	hash []byte
}

// httpError is a refusal the gateway answers itself.
type httpError struct {
	Status  int
	Outcome string // metric label
	Msg     string
}

func (e *httpError) Error() string { return e.Msg }

func unauthorized(format string, args ...any) *httpError {
	return &httpError{Status: http.StatusUnauthorized, Outcome: "unauthorized", Msg: fmt.Sprintf(format, args...)}
}

// presentedToken takes the token from "Authorization: Bearer" or the SOAJS
// "token" header. Several values, or two headers that disagree, are
// refused: the gateway must not pick one while something else reads the
// other.
func presentedToken(h http.Header) (string, *httpError) {
	authz := h.Values("Authorization")
	soajs := h.Values("Token")
	if len(authz) > 1 || len(soajs) > 1 {
		return "", unauthorized("more than one token header")
	}
	var tok string
	if len(authz) == 1 {
		scheme, cred, ok := strings.Cut(strings.TrimSpace(authz[0]), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", unauthorized("the Authorization header must be \"Bearer <token>\"")
		}
		tok = strings.TrimSpace(cred)
	}
	if len(soajs) == 1 {
		t := strings.TrimSpace(soajs[0])
		if tok != "" && subtle.ConstantTimeCompare([]byte(t), []byte(tok)) != 1 {
			return "", unauthorized("the Authorization and token headers disagree")
		}
		tok = t
	}
	if tok == "" {
		return "", unauthorized("missing token: send \"Authorization: Bearer <token>\" (docker CLI: HttpHeaders in ~/.docker/config.json; buildx and docker build with BuildKit ignore HttpHeaders: run `portcullis engine connect` and point DOCKER_HOST at its socket)")
	}
	if len(tok) > maxTokenLen {
		return "", unauthorized("token too long")
	}
	return tok, nil
}

// authenticate finds the caller of r. A token found in the store is
// trusted for TokenCacheTTL (default 1s) before the store is asked again,
// so a revoked or rotated token stops working within that time; expiry is
// checked on every request.
func (g *Gateway) authenticate(ctx context.Context, h http.Header) (*caller, *httpError) {
	tok, herr := presentedToken(h)
	if herr != nil {
		return nil, herr
	}
	hash := HashToken(tok)
	if g.envHash != nil && subtle.ConstantTimeCompare(hash, g.envHash) == 1 {
		return &caller{Name: EnvTokenName, Policy: g.policies["full"]}, nil
	}
	if g.tokens == nil {
		return nil, unauthorized("invalid token")
	}
	now := g.now()
	t, ok := g.cache.get(hash, now)
	if !ok {
		var err error
		t, err = g.tokens.GetEngineTokenByHash(ctx, hash)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, unauthorized("invalid token")
		case err != nil:
			g.logger.ErrorContext(ctx, "engine token lookup failed", "err", err)
			return nil, &httpError{Status: http.StatusServiceUnavailable, Outcome: "unavailable", Msg: "token store unavailable"}
		}
		g.cache.put(hash, t, now)
	}
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return nil, unauthorized("token %q expired at %s: rotate it with `portcullis engine token rotate %s`", t.Name, t.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"), t.Name)
	}
	p := g.policies[t.Policy]
	if p == nil {
		return nil, &httpError{Status: http.StatusForbidden, Outcome: "forbidden", Msg: fmt.Sprintf("token %q has policy %q, which is not configured", t.Name, t.Policy)}
	}
	return &caller{Name: t.Name, Policy: p, hash: hash}, nil
}
