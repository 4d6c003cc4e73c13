package engine

import (
	"errors"
	"net/url"
	"strings"
)

// errBadPath is returned for paths the gateway refuses to interpret: the
// daemon and the gateway must never disagree about which endpoint a path
// names, so anything that needs decoding or resolving is refused rather
// than guessed at.
var errBadPath = errors.New("path refused")

// normalizePath returns the path the gateway forwards (repeated slashes
// collapsed, nothing else changed) and the path policies match on (the
// forwarded path without its /vX.Y version prefix). It refuses encoded
// slashes, backslashes and dots, NUL, and "." or ".." segments.
func normalizePath(u *url.URL) (forward, match string, err error) {
	p := u.Path
	if p == "" || p[0] != '/' {
		return "", "", errBadPath
	}
	if u.RawPath != "" && hasEncodedSeparator(u.RawPath) {
		return "", "", errBadPath
	}
	if strings.ContainsAny(p, "\\\x00") {
		return "", "", errBadPath
	}
	if strings.Contains(p, "//") {
		var b strings.Builder
		b.Grow(len(p))
		prevSlash := false
		for i := 0; i < len(p); i++ {
			c := p[i]
			if c == '/' && prevSlash {
				continue
			}
			prevSlash = c == '/'
			b.WriteByte(c)
		}
		p = b.String()
	}
	// "." and ".." segments: dockerd's router would redirect or resolve
	// them; refuse instead.
	for rest := p[1:]; ; {
		seg, tail, more := strings.Cut(rest, "/")
		if seg == "." || seg == ".." {
			return "", "", errBadPath
		}
		if !more {
			break
		}
		rest = tail
	}
	return p, stripVersion(p), nil
}

// hasEncodedSeparator reports %2F, %5C, %2E or %00 in an escaped path.
func hasEncodedSeparator(raw string) bool {
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] != '%' {
			continue
		}
		switch strings.ToUpper(raw[i+1 : i+3]) {
		case "2F", "5C", "2E", "00":
			return true
		}
	}
	return false
}

// stripVersion removes a leading /v{version} segment the way dockerd's
// router matches it (`/v{version:[0-9.]+}`), so that /v1.41/containers/json
// and /containers/json are the same endpoint to policies.
func stripVersion(p string) string {
	if len(p) < 3 || p[1] != 'v' {
		return p
	}
	i := 2
	for i < len(p) && (p[i] == '.' || (p[i] >= '0' && p[i] <= '9')) {
		i++
	}
	if i == 2 {
		return p
	}
	if i == len(p) {
		return "/"
	}
	if p[i] != '/' {
		return p
	}
	return p[i:]
}
