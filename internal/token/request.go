package token

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// GrantType says how a request proves who it is.
type GrantType string

const (
	// GrantBasic is GET /token with optional Basic credentials.
	GrantBasic GrantType = "basic"
	// GrantPassword is the OAuth2 password grant (POST).
	GrantPassword GrantType = "password"
	// GrantRefresh is the OAuth2 refresh_token grant (POST).
	GrantRefresh GrantType = "refresh_token"
)

// Request is a parsed token request.
type Request struct {
	Grant    GrantType
	Service  string
	Scopes   []Scope
	Account  string
	ClientID string
	// Offline asks for a refresh token (offline_token=true on GET,
	// access_type=offline on POST).
	Offline bool

	Username     string
	Password     string
	HasBasic     bool
	RefreshToken string
}

// ErrBadRequest marks malformed requests (400).
var ErrBadRequest = errors.New("malformed token request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
}

// ParseRequest reads a GET or POST token request. It bounds every input
// before using it.
func ParseRequest(r *http.Request) (*Request, error) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return parseGet(r)
	case http.MethodPost:
		return parsePost(r)
	default:
		return nil, badRequest("method %s not allowed", r.Method)
	}
}

func parseGet(r *http.Request) (*Request, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("query: %v", err)
	}
	req := &Request{Grant: GrantBasic}
	if err := req.common(q); err != nil {
		return nil, err
	}
	if v, err := single(q, "offline_token"); err != nil {
		return nil, err
	} else {
		// A HEAD answer has no body to carry a refresh token: issuing
		// one would only leave a session nobody holds.
		req.Offline = (v == "true" || v == "1") && r.Method != http.MethodHead
	}
	if v, err := single(q, "account"); err != nil {
		return nil, err
	} else {
		req.Account = v
	}
	if h := r.Header.Get("Authorization"); h != "" {
		u, p, ok := r.BasicAuth()
		if !ok {
			return nil, badRequest("Authorization header is not valid Basic credentials")
		}
		if len(u) > maxParamLen || len(p) > 4096 {
			return nil, badRequest("credentials too long")
		}
		req.Username, req.Password, req.HasBasic = u, p, true
	}
	return req, nil
}

func parsePost(r *http.Request) (*Request, error) {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if strings.TrimSpace(strings.ToLower(ct)) != "application/x-www-form-urlencoded" {
		return nil, badRequest("POST body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBodySize+1))
	if err != nil {
		return nil, badRequest("read body: %v", err)
	}
	if len(body) > maxFormBodySize {
		return nil, badRequest("body larger than %d bytes", maxFormBodySize)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		// An escape error quotes the bytes that failed, which belong to a
		// password or refresh token sent unencoded: say what is wrong
		// without them (the message is logged and answered).
		var esc url.EscapeError
		if errors.As(err, &esc) {
			return nil, badRequest("form: a value holds %% not followed by two hex digits; percent-encode every value")
		}
		return nil, badRequest("form: %v", err)
	}
	req := &Request{}
	if err := req.common(form); err != nil {
		return nil, err
	}
	gt, err := single(form, "grant_type")
	if err != nil {
		return nil, err
	}
	access, err := single(form, "access_type")
	if err != nil {
		return nil, err
	}
	req.Offline = access == "offline"
	switch GrantType(gt) {
	case GrantPassword:
		req.Grant = GrantPassword
		if req.Username, err = single(form, "username"); err != nil {
			return nil, err
		}
		if req.Password, err = single(form, "password"); err != nil {
			return nil, err
		}
		if req.Username == "" {
			return nil, badRequest("username is required for grant_type=password")
		}
		req.HasBasic = true
	case GrantRefresh:
		req.Grant = GrantRefresh
		if req.RefreshToken, err = single(form, "refresh_token"); err != nil {
			return nil, err
		}
		if req.RefreshToken == "" {
			return nil, badRequest("refresh_token is required for grant_type=refresh_token")
		}
	case "":
		return nil, badRequest("grant_type is required")
	default:
		return nil, badRequest("unsupported grant_type %q", gt)
	}
	return req, nil
}

func (req *Request) common(v url.Values) error {
	var err error
	if req.Service, err = single(v, "service"); err != nil {
		return err
	}
	if req.ClientID, err = single(v, "client_id"); err != nil {
		return err
	}
	if len(v["scope"]) > MaxScopes {
		return badRequest("too many scope parameters")
	}
	req.Scopes, err = ParseScopes(v["scope"])
	if err != nil {
		return badRequest("%v", err)
	}
	return nil
}

// single returns the one value of key (or ""), refusing repeats and
// over-long values.
func single(v url.Values, key string) (string, error) {
	vals := v[key]
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		if key != "password" && key != "refresh_token" && len(vals[0]) > maxParamLen {
			return "", badRequest("parameter %s longer than %d bytes", key, maxParamLen)
		}
		if len(vals[0]) > 4096 {
			return "", badRequest("parameter %s too long", key)
		}
		return vals[0], nil
	default:
		return "", badRequest("parameter %s given more than once", key)
	}
}
