// Package token implements the Docker Registry v2 token-auth protocol:
// it parses GET and OAuth2 POST token requests, authenticates them through
// the authentication chain, decides every requested scope with the ACL,
// and answers with a signed JWT the registry verifies.
package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/internal/acl"
	"github.com/portcullis/portcullis/internal/authn"
	"github.com/portcullis/portcullis/internal/keys"
	"github.com/portcullis/portcullis/internal/store"
)

// Authenticator is what the service needs of the authentication chain.
type Authenticator interface {
	authn.Authenticator
	authn.UserLookup
	// CanLookup reports whether the authenticator named source can
	// describe its users again later (needed for refresh tokens).
	CanLookup(source string) bool
	// StillValid reports whether a password grant is still good (the
	// password was not changed, nor the account disabled, since it was
	// checked).
	StillValid(ctx context.Context, id *authn.Identity) (bool, error)
}

// ScopeLimiter intersects the actions an identity's own scope restriction
// (app tokens) allows.
type ScopeLimiter func(scopes []string, typ, name string, actions []string) []string

// Settings are the token service's fixed parameters.
type Settings struct {
	Issuer string
	// Services are the accepted service names; the first is the default
	// when a request names none. The service is the token's audience.
	Services   []string
	Expiration time.Duration
	// RefreshExpiration is the lifetime of refresh tokens; 0 = no expiry.
	RefreshExpiration time.Duration
}

// Service answers token requests.
type Service struct {
	settings Settings
	keys     atomic.Pointer[keys.Set]
	acl      atomic.Pointer[acl.ACL]
	authn    Authenticator
	refresh  store.RefreshTokenStore // nil: no refresh tokens
	usage    *store.UsageBuffer
	limit    ScopeLimiter
	logger   *slog.Logger
	metrics  *Metrics
	clientIP func(*http.Request) netip.Addr
	now      func() time.Time
}

// Deps are the service's collaborators.
type Deps struct {
	Keys     *keys.Set
	ACL      *acl.ACL
	Authn    Authenticator
	Refresh  store.RefreshTokenStore
	Usage    *store.UsageBuffer
	Limit    ScopeLimiter
	Logger   *slog.Logger
	Metrics  *Metrics
	ClientIP func(*http.Request) netip.Addr
	Now      func() time.Time
}

// New builds the service.
func New(s Settings, d Deps) (*Service, error) {
	if len(s.Services) == 0 || s.Issuer == "" {
		return nil, errors.New("token: issuer and at least one service are required")
	}
	if d.Keys == nil || d.Keys.Signer == nil || d.ACL == nil || d.Authn == nil {
		return nil, errors.New("token: keys, ACL and authenticator are required")
	}
	svc := &Service{settings: s, authn: d.Authn, refresh: d.Refresh, usage: d.Usage, limit: d.Limit,
		logger: d.Logger, metrics: d.Metrics, clientIP: d.ClientIP, now: d.Now}
	if svc.logger == nil {
		svc.logger = slog.New(slog.DiscardHandler)
	}
	if svc.now == nil {
		svc.now = time.Now
	}
	if svc.clientIP == nil {
		svc.clientIP = RemoteIP
	}
	svc.keys.Store(d.Keys)
	svc.acl.Store(d.ACL)
	return svc, nil
}

// SetKeys swaps the key set (SIGHUP reload).
func (s *Service) SetKeys(k *keys.Set) { s.keys.Store(k) }

// SetACL swaps the rules.
func (s *Service) SetACL(a *acl.ACL) { s.acl.Store(a) }

// RemoteIP is the request's peer address.
func RemoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// outcome is what one request came to, for the log and metrics.
type outcome struct {
	grant    GrantType
	account  string
	source   string
	credID   string
	asked    []Scope
	granted  []Access
	decision string
	reason   string
}

// ServeHTTP implements the token endpoint.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	o := &outcome{}
	status := s.serve(w, r, o)
	d := time.Since(start)
	if s.metrics != nil {
		s.metrics.observe(o, status, d)
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	if !s.logger.Enabled(r.Context(), level) {
		return
	}
	attrs := []any{
		"grant", string(o.grant), "account", o.account, "status", status, "decision", o.decision,
		"scopes_asked", scopeStrings(o.asked), "scopes_granted", accessStrings(o.granted),
		"client", s.clientIP(r).String(), "duration", d,
	}
	if o.source != "" {
		attrs = append(attrs, "authenticator", o.source)
	}
	if o.credID != "" {
		attrs = append(attrs, "credential", o.credID)
	}
	if o.reason != "" {
		attrs = append(attrs, "reason", o.reason)
	}
	s.logger.Log(r.Context(), level, "token request", attrs...)
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request, o *outcome) int {
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") == "" && r.ContentLength == 0 {
		o.decision, o.reason = "bad_request", "empty POST"
	}
	req, err := ParseRequest(r)
	if err != nil {
		o.decision, o.reason = "bad_request", err.Error()
		writeError(w, http.StatusBadRequest, "UNSUPPORTED", "invalid_request", err.Error())
		return http.StatusBadRequest
	}
	o.grant, o.asked = req.Grant, req.Scopes
	service := req.Service
	if service == "" {
		service = s.settings.Services[0]
	} else if !slices.Contains(s.settings.Services, service) {
		o.decision, o.reason = "bad_request", "unknown service"
		// Name what is accepted: the usual cause is a registry whose
		// auth.token.service differs from token.service. Service names
		// are no secret (registries send them in every challenge).
		msg := fmt.Sprintf("unknown service %q: this server issues tokens for service %s (the registry's auth.token.service must name one)",
			service, quotedList(s.settings.Services))
		writeError(w, http.StatusBadRequest, "UNSUPPORTED", "invalid_request", msg)
		return http.StatusBadRequest
	}
	ip := s.clientIP(r)
	ctx := r.Context()

	id, status, msg := s.identify(ctx, req, ip, o)
	if status != 0 {
		code, oauth := "UNAUTHORIZED", "invalid_grant"
		switch status {
		case http.StatusServiceUnavailable:
			code, oauth = "UNAVAILABLE", "temporarily_unavailable"
		case http.StatusBadRequest:
			code, oauth = "UNSUPPORTED", "invalid_request"
		}
		writeError(w, status, code, oauth, msg)
		return status
	}

	subject := acl.Subject{Account: id.Account, Anonymous: id.Kind == authn.KindAnonymous, Admin: id.Admin,
		Labels: id.Labels, IP: ip, Service: service}
	rules := s.acl.Load()
	granted := make([]Access, 0, len(req.Scopes))
	full := true
	for _, sc := range req.Scopes {
		d := rules.Authorize(subject, acl.Request{Type: sc.Type, Class: sc.Class, Name: sc.Name, Actions: sc.Actions})
		allowed := d.Allowed
		if len(id.Scopes) > 0 && len(allowed) > 0 && s.limit != nil {
			allowed = s.limit(id.Scopes, sc.Type, sc.Name, allowed)
		}
		if len(allowed) < len(sc.Actions) {
			full = false
		}
		if len(allowed) > 0 {
			granted = append(granted, Access{Type: sc.Type, Class: sc.Class, Name: sc.Name, Actions: allowed})
		}
	}
	o.granted = granted
	switch {
	case len(req.Scopes) == 0:
		o.decision = "login"
	case full:
		o.decision = "granted"
	case len(granted) > 0:
		o.decision = "partial"
	default:
		o.decision = "denied"
	}

	now := s.now()
	subjectName := id.Account
	if id.Kind == authn.KindAnonymous {
		subjectName = ""
	}
	claims, err := NewClaims(s.settings.Issuer, subjectName, service, now, s.settings.Expiration, granted)
	if err != nil {
		return s.internal(w, o, err)
	}
	payload, err := claims.Marshal()
	if err != nil {
		return s.internal(w, o, err)
	}
	tok, err := s.keys.Load().Signer.SignCompact(payload)
	if err != nil {
		return s.internal(w, o, fmt.Errorf("sign: %w", err))
	}
	resp := Response{Token: tok, AccessToken: tok, ExpiresIn: int(s.settings.Expiration / time.Second),
		IssuedAt: now.UTC().Format(time.RFC3339)}

	if req.Offline && req.Grant != GrantRefresh {
		rt, err := s.issueRefresh(ctx, req, id, ip, now)
		if err != nil {
			return s.internal(w, o, err)
		}
		resp.RefreshToken = rt
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp.AppendJSON(make([]byte, 0, 2*len(tok)+160)))
	return http.StatusOK
}

func (s *Service) internal(w http.ResponseWriter, o *outcome, err error) int {
	o.decision, o.reason = "error", err.Error()
	writeError(w, http.StatusInternalServerError, "UNKNOWN", "server_error", "internal error")
	return http.StatusInternalServerError
}

// identify turns the request's credentials into an identity, or returns a
// status and message to answer with.
func (s *Service) identify(ctx context.Context, req *Request, ip netip.Addr, o *outcome) (*authn.Identity, int, string) {
	switch {
	case req.Grant == GrantRefresh:
		return s.identifyRefresh(ctx, req, ip, o)
	case !req.HasBasic:
		o.account = ""
		return &authn.Identity{Kind: authn.KindAnonymous}, 0, ""
	}
	o.account = req.Username
	if req.Account != "" && req.Account != req.Username {
		o.decision, o.reason = "bad_request", "account does not match user"
		return nil, http.StatusBadRequest, "the account parameter does not match the authenticated user"
	}
	res, err := s.authn.Authenticate(ctx, authn.Credentials{Username: req.Username, Password: req.Password, RemoteAddr: ip})
	if err != nil {
		o.decision, o.reason = "error", err.Error()
		return nil, http.StatusServiceUnavailable, "authentication backend unavailable; try again later"
	}
	if res.Identity != nil {
		o.source, o.credID = res.Identity.Source, res.Identity.CredentialID
	}
	if res.Decision != authn.Grant {
		o.decision, o.reason = "unauthenticated", res.Reason
		if res.Reason == "" {
			o.reason = res.Decision.String()
		}
		if res.Public != "" {
			return nil, http.StatusUnauthorized, "authentication failed: " + res.Public
		}
		return nil, http.StatusUnauthorized, "authentication failed: wrong user name or password"
	}
	// Log the account granted: the authenticator may spell it otherwise
	// than the client typed it (a directory's spelling, an app token's owner).
	o.account = res.Identity.Account
	return res.Identity, 0, ""
}

func (s *Service) identifyRefresh(ctx context.Context, req *Request, ip netip.Addr, o *outcome) (*authn.Identity, int, string) {
	const bad = "invalid or revoked refresh token"
	if s.refresh == nil {
		o.decision, o.reason = "unauthenticated", "refresh tokens disabled"
		return nil, http.StatusUnauthorized, bad
	}
	if len(req.RefreshToken) > 512 || !strings.HasPrefix(req.RefreshToken, RefreshPrefix) {
		o.decision, o.reason = "unauthenticated", "malformed refresh token"
		return nil, http.StatusUnauthorized, bad
	}
	hash := sha256.Sum256([]byte(req.RefreshToken))
	rt, err := s.refresh.GetRefreshTokenByHash(ctx, hash[:])
	if errors.Is(err, store.ErrNotFound) {
		o.decision, o.reason = "unauthenticated", "unknown refresh token"
		return nil, http.StatusUnauthorized, bad
	}
	if err != nil {
		o.decision, o.reason = "error", err.Error()
		return nil, http.StatusServiceUnavailable, "store unavailable; try again later"
	}
	o.account, o.credID = rt.User, "refresh:"+rt.ID
	if !rt.ExpiresAt.IsZero() && !s.now().Before(rt.ExpiresAt) {
		o.decision, o.reason = "unauthenticated", "refresh token expired"
		return nil, http.StatusUnauthorized, bad
	}
	// The refresh token is not bound to the client id it was issued to:
	// docker login stores it in ~/.docker/config.json, and Docker's
	// containerd image store, skopeo/podman and crane refresh it under
	// their own hard-coded ids. A client id is a self-asserted label, not
	// a credential; it is only recorded for the session list.
	id, ok, err := s.authn.LookupUser(ctx, rt.User)
	if err != nil {
		o.decision, o.reason = "error", err.Error()
		return nil, http.StatusServiceUnavailable, "authentication backend unavailable; try again later"
	}
	if !ok {
		o.decision, o.reason = "unauthenticated", "user no longer exists or is disabled"
		return nil, http.StatusUnauthorized, bad
	}
	o.source = id.Source
	if s.usage != nil {
		s.usage.Record(hash[:], s.now(), addrString(ip))
	}
	cp := *id
	cp.Kind, cp.CredentialID = authn.KindRefreshToken, "refresh:"+rt.ID
	return &cp, 0, ""
}

// RefreshPrefix starts every refresh token, so leaked ones are
// recognisable by secret scanners.
const RefreshPrefix = "pcrt_"

// issueRefresh stores a new refresh token when the request asked for one
// and the identity can be re-checked later; otherwise it returns "" and the
// client keeps using its credentials.
func (s *Service) issueRefresh(ctx context.Context, req *Request, id *authn.Identity, ip netip.Addr, now time.Time) (string, error) {
	if s.refresh == nil || req.ClientID == "" || id.Kind != authn.KindPassword || !s.authn.CanLookup(id.Source) {
		return "", nil
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", err
	}
	var idb [6]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", err
	}
	tok := RefreshPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	hash := sha256.Sum256([]byte(tok))
	rt := store.RefreshToken{
		ID: hex.EncodeToString(idb[:]), User: id.Account, ClientID: req.ClientID, Hash: hash[:],
		CreatedAt: now, LastUsedAt: now, LastUsedAddr: addrString(ip),
	}
	if s.settings.RefreshExpiration > 0 {
		rt.ExpiresAt = now.Add(s.settings.RefreshExpiration)
	}
	if err := s.refresh.CreateRefreshToken(ctx, rt); err != nil {
		return "", fmt.Errorf("store refresh token: %w", err)
	}
	// The password was checked a bcrypt ago. Had it been changed since,
	// the change revoked the sessions that existed then, not this one:
	// check the grant again now that the session is stored (a change
	// after this check revokes it with the others) and take it back.
	valid, err := s.authn.StillValid(ctx, id)
	if err == nil && valid {
		return tok, nil
	}
	if derr := s.refresh.DeleteRefreshToken(ctx, rt.User, rt.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
		return "", fmt.Errorf("take back refresh token of a changed user: %w", derr)
	}
	if err != nil {
		return "", fmt.Errorf("recheck credentials for refresh token: %w", err)
	}
	s.logger.InfoContext(ctx, "refresh token not issued: the user's password or account changed during the login", "user", id.Account)
	return "", nil
}

func scopeStrings(sc []Scope) []string {
	out := make([]string, len(sc))
	for i, s := range sc {
		out[i] = s.String()
	}
	return out
}

func accessStrings(a []Access) []string {
	out := make([]string, len(a))
	for i, x := range a {
		out[i] = Scope(x).String()
	}
	return out
}

// addrString is the address as sessions record it: "" when unknown
// (netip writes "invalid IP").
func addrString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}

// quotedList renders names as "a", "b" or "c".
func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
