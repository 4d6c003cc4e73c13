package apigw

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var testNow = time.Unix(1_800_000_000, 0)

func testVerifier() *Verifier {
	return &Verifier{Skew: 5 * time.Second, MaxLifetime: 60 * time.Second, Newline: true, Now: func() time.Time { return testNow }}
}

// check parses and verifies tok with key and returns the reason, "" if
// accepted.
func check(v *Verifier, tok, key string) (string, Reason) {
	t, err := ParseAuthorization("Bearer "+tok, 4096)
	if err == nil {
		err = v.Verify(t, []byte(key))
	}
	if err == nil {
		return t.ID, ""
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		return "", "not an AuthError: " + Reason(err.Error())
	}
	return "", ae.Reason
}

func TestClientFormatsAccepted(t *testing.T) {
	v := testVerifier()
	for _, f := range clientFormats {
		t.Run(f.name, func(t *testing.T) {
			tok := f.make("001", seedKey001, testNow.Unix()+10)
			id, reason := check(v, tok, seedKey001)
			if reason != "" || id != "001" {
				t.Fatalf("token %s refused: %s", tok, reason)
			}
			// The same token under the other key is a bad signature.
			if _, reason := check(v, tok, seedKey002); reason != ReasonBadSignature {
				t.Fatalf("wrong key: got %q, want bad_signature", reason)
			}
		})
	}
}

func TestTokenRefusals(t *testing.T) {
	exp := testNow.Unix() + 10
	good := clientFormats[0].make("001", seedKey001, exp)
	h, p, s := splitToken(good)
	hdr := func(json string) string { return b64url(json) }
	signed := func(h, p string) string { return h + "." + p + "." + sigURL(seedKey001, h+"."+p) }
	pl := func(json string) string { return b64url(json) }
	cases := []struct {
		name string
		tok  string
		want Reason
	}{
		{"tampered payload", h + "." + pl(`{"id":"001","exp":1800000050}`) + "." + s, ReasonBadSignature},
		{"tampered signature", h + "." + p + "." + flip(s), ReasonBadSignature},
		{"tampered header", b64url(`{"alg":"HS256","typ":"JWS"}`) + "." + p + "." + s, ReasonBadSignature},
		{"expired", signed(h, pl(`{"id":"001","exp":1799999990}`)), ReasonExpired},
		{"expired at the edge of the skew", signed(h, pl(`{"id":"001","exp":1799999995}`)), ReasonExpired},
		{"beyond max lifetime", signed(h, pl(`{"id":"001","exp":1800000066}`)), ReasonTooLongLived},
		{"an hour ahead", signed(h, pl(`{"id":"001","exp":1800003600}`)), ReasonTooLongLived},
		{"alg none", signed(hdr(`{"alg":"none","typ":"JWT"}`), p), ReasonMalformed},
		{"alg HS512", signed(hdr(`{"alg":"HS512"}`), p), ReasonMalformed},
		{"alg hs256 lower case", signed(hdr(`{"alg":"hs256"}`), p), ReasonMalformed},
		{"header without alg", signed(hdr(`{"typ":"JWT"}`), p), ReasonMalformed},
		{"header not JSON", signed(hdr(`HS256`), p), ReasonMalformed},
		{"exp missing", signed(h, pl(`{"id":"001"}`)), ReasonMalformed},
		{"exp null", signed(h, pl(`{"id":"001","exp":null}`)), ReasonMalformed},
		{"exp string", signed(h, pl(`{"id":"001","exp":"1800000010"}`)), ReasonMalformed},
		{"exp fraction", signed(h, pl(`{"id":"001","exp":1800000010.5}`)), ReasonMalformed},
		{"exp negative", signed(h, pl(`{"id":"001","exp":-1}`)), ReasonMalformed},
		{"exp huge", signed(h, pl(`{"id":"001","exp":99999999999999999999}`)), ReasonMalformed},
		{"id missing", signed(h, pl(`{"exp":1800000010}`)), ReasonMalformed},
		{"id number", signed(h, pl(`{"id":1,"exp":1800000010}`)), ReasonMalformed},
		{"id with slash", signed(h, pl(`{"id":"../001","exp":1800000010}`)), ReasonMalformed},
		{"payload not base64", h + ".!!!." + s, ReasonMalformed},
		{"payload not JSON", signed(h, pl(`id=001`)), ReasonMalformed},
		{"two parts", h + "." + p, ReasonMalformed},
		{"four parts", good + ".x", ReasonMalformed},
		{"empty part", h + ".." + s, ReasonMalformed},
		{"signature upper-case hex", h + "." + p + "." + strings.ToUpper(sigHex(seedKey001, h+"."+p)), ReasonMalformed},
		{"signature padded base64url", good + "=", ReasonMalformed},
		{"signature short", h + "." + p + "." + s[:42], ReasonMalformed},
		{"signature standard base64", h + "." + p + "." + strings.NewReplacer("-", "+", "_", "/").Replace(s) + "+", ReasonMalformed},
		{"garbage", "garbage", ReasonMalformed},
		{"bad padding", h + "." + b64std(`{"id":"001","exp":1800000010}`) + "=" + "." + s, ReasonMalformed},
	}
	v := testVerifier()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, got := check(v, c.tok, seedKey001); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestNewlineSignatureSwitch(t *testing.T) {
	hp := hCg + "." + b64std("{\"id\":\"001\",\"exp\":1800000010}\n")
	tok := hp + "." + sigHex(seedKey001, hp+"\n")
	v := testVerifier()
	if _, r := check(v, tok, seedKey001); r != "" {
		t.Fatalf("newline signature refused with the switch on: %s", r)
	}
	v.Newline = false
	if _, r := check(v, tok, seedKey001); r != ReasonBadSignature {
		t.Fatalf("newline signature with the switch off: got %q, want bad_signature", r)
	}
}

func TestMaxLifetimeOff(t *testing.T) {
	v := testVerifier()
	v.MaxLifetime = 0
	tok := clientFormats[0].make("001", seedKey001, testNow.Unix()+3600)
	if _, r := check(v, tok, seedKey001); r != "" {
		t.Fatalf("an hour-long token refused with the cap off: %s", r)
	}
}

func TestSkewAcceptsJustExpired(t *testing.T) {
	tok := clientFormats[0].make("001", seedKey001, testNow.Unix()-4)
	if _, r := check(testVerifier(), tok, seedKey001); r != "" {
		t.Fatalf("token 4s past exp refused within 5s skew: %s", r)
	}
}

func TestAuthorizationHeader(t *testing.T) {
	tok := clientFormats[0].make("001", seedKey001, testNow.Unix()+10)
	for _, c := range []struct {
		value string
		ok    bool
	}{
		{"Bearer " + tok, true},
		{"bearer " + tok, true},
		{"Basic " + tok, false},
		{tok, false},
		{"", false},
		{"Bearer " + tok + strings.Repeat("A", 5000), false},
	} {
		_, err := ParseAuthorization(c.value, 4096)
		if (err == nil) != c.ok {
			t.Errorf("%.40q: err %v, want ok=%v", c.value, err, c.ok)
		}
	}
}

func TestReplayKeyIgnoresSignatureEncoding(t *testing.T) {
	hp := b64url(`{"alg":"HS256"}`) + "." + b64url(`{"id":"001","exp":1800000010}`)
	a, err := ParseToken(hp + "." + sigURL(seedKey001, hp))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseToken(hp + "." + sigHex(seedKey001, hp))
	if err != nil {
		t.Fatal(err)
	}
	if a.replayKey() != b.replayKey() {
		t.Fatal("the same signature in hex and base64url must be the same token for replay")
	}
}

func splitToken(tok string) (h, p, s string) {
	parts := strings.Split(tok, ".")
	return parts[0], parts[1], parts[2]
}

// flip changes the first character of s to another valid one.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
