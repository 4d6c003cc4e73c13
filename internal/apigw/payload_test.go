package apigw

import (
	"testing"
)

// FuzzCanonicalPayload: parsePayload with its shortcut for the usual
// form answers exactly as encoding/json alone does, for any payload.
func FuzzCanonicalPayload(f *testing.F) {
	for _, s := range []string{
		`{"id":"001","exp":1700000000}`, `{"exp":1700000000,"id":"001"}`, `{"id":"001","exp":0}`,
		`{"id":"001","exp":01}`, `{"id":"0\u0030","exp":1}`, `{"ID":"001","exp":1}`, `{"id":"001","exp":1,"id":"002"}`,
		`{"id":"001","exp":1} `, `{"id":"","exp":1}`, `{"id":"a b","exp":1}`, `{"id":"001","exp":1.0}`,
		`{"id":"001","exp":1,"jti":"00ff"}`, `{"id":"001","exp":1,"jti":""}`, `{"id":"001","exp":1,"jti":"a\"b"}`,
		`{"id":"001","exp":1,"jti":"ab","x":1}`, `{"id":"001","exp":1,"jti":"0"}`, `{"id":"001","exp":1,"jti":"ab"} `,
		`{"id":"001","exp":-1}`, `{"id":"001","exp":1234567890123}`, `{"exp":1,"id":"001"`, `{"id":"001","exp":}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, pj []byte) {
		id, exp, err := parsePayload(pj)
		wid, wexp, werr := parsePayloadJSON(pj)
		if id != wid || exp != wexp || (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Fatalf("payload %q: got %q %d %v, encoding/json gives %q %d %v", pj, id, exp, err, wid, wexp, werr)
		}
	})
}

func TestCanonicalPayloadTakesTheUsualForms(t *testing.T) {
	for _, s := range []string{`{"id":"001","exp":1700000000}`, `{"exp":1700000000,"id":"key_2-x"}`, `{"id":"001","exp":1700000000,"jti":"0123456789abcdef"}`} {
		if _, _, ok := canonicalPayload([]byte(s)); !ok {
			t.Errorf("%s: not read by the shortcut", s)
		}
	}
	for _, s := range []string{`{"id":"001","exp":1,"jti":"a-b"}`, `{"id":"001","exp":01}`, `{"ID":"001","exp":1}`, `{"id":"001","exp":1,"id":"002"}`, `{"id":"0\u0030","exp":1}`} {
		if _, _, ok := canonicalPayload([]byte(s)); ok {
			t.Errorf("%s: read by the shortcut", s)
		}
	}
}
