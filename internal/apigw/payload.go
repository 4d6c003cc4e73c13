package apigw

import "strconv"

// canonicalPayload reads a token payload in the form clients send it,
// {"id":"ID","exp":N} or {"exp":N,"id":"ID"} with no white space, or as
// Sign (`portcullis apikey sign`) makes it, {"id":"ID","exp":N,"jti":"HEX"}, without
// encoding/json, which is a tenth of the gateway's work per request. It
// reports false for anything else, which parsePayload then gives to
// encoding/json; whatever it accepts, encoding/json reads the same way
// (FuzzCanonicalPayload).
func canonicalPayload(pj []byte) (id string, exp int64, ok bool) {
	const idFirst, expFirst = `{"id":"`, `{"exp":`
	s := string(pj)
	switch {
	case len(s) > len(idFirst) && s[:len(idFirst)] == idFirst:
		s = s[len(idFirst):]
		if id, s, ok = cutID(s); !ok || len(s) < 7 || s[:7] != `,"exp":` {
			return "", 0, false
		}
		if exp, s, ok = cutExp(s[7:]); !ok {
			return "", 0, false
		}
		if s != "}" && !plainJTI(s) {
			return "", 0, false
		}
		return id, exp, true
	case len(s) > len(expFirst) && s[:len(expFirst)] == expFirst:
		if exp, s, ok = cutExp(s[len(expFirst):]); !ok || len(s) < 7 || s[:7] != `,"id":"` {
			return "", 0, false
		}
		if id, s, ok = cutID(s[7:]); !ok || s != "}" {
			return "", 0, false
		}
		return id, exp, true
	}
	return "", 0, false
}

// plainJTI reports whether s is `,"jti":"VALUE"}` with a VALUE of 1 to
// 128 letters and digits, which encoding/json skips as an unknown field.
func plainJTI(s string) bool {
	const head = `,"jti":"`
	if len(s) < len(head)+3 || s[:len(head)] != head || s[len(s)-2:] != `"}` {
		return false
	}
	v := s[len(head) : len(s)-2]
	if len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// cutID takes a key id and its closing quote off s.
func cutID(s string) (id, rest string, ok bool) {
	for i := 0; i < len(s) && i <= maxIDLen; i++ {
		if s[i] == '"' {
			if !validKeyID(s[:i]) {
				return "", "", false
			}
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

// cutExp takes a JSON integer (no sign, no leading zero) of at most
// expDigits digits off s.
func cutExp(s string) (exp int64, rest string, ok bool) {
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	if n == 0 || n > expDigits || n > 1 && s[0] == '0' {
		return 0, "", false
	}
	exp, err := strconv.ParseInt(s[:n], 10, 64)
	return exp, s[n:], err == nil
}
