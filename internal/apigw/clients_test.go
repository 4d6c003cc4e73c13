package apigw

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Test keys: the seed's documented key 001 and a second one.
const (
	seedKey001 = "2df1eeea370eacdc5cf7e96c2d82140d1568079a5d4d87006ec8718a98883b36"
	seedKey002 = "50c5e483b80964595508f214229b014aa6c013594d57d38bcb841093a39f1d83"
)

// hCg is the hard-coded header many clients send: standard base64 of
// {"alg":"HS256","typ":"JWT"} plus a newline.
const hCg = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9Cg=="

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func macOf(key, msg string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func sigURL(key, msg string) string { return base64.RawURLEncoding.EncodeToString(macOf(key, msg)) }
func sigHex(key, msg string) string { return hex.EncodeToString(macOf(key, msg)) }

// clientFormat builds a token the way one known client does.
type clientFormat struct {
	name string
	make func(id, key string, exp int64) string
}

// clientFormats are the rows of the compatibility table, each built as
// that client builds it.
var clientFormats = []clientFormat{
	{"cyphernode docs and tests (b64url, b64url, b64url)", func(id, key string, exp int64) string {
		hp := b64url(`{"alg":"HS256","typ":"JWT"}`) + "." + b64url(fmt.Sprintf(`{"id":"%s","exp":%d}`, id, exp))
		return hp + "." + sigURL(key, hp)
	}},
	{"cyphernode shell client (Cg==, b64url, b64url)", func(id, key string, exp int64) string {
		hp := hCg + "." + b64url(fmt.Sprintf(`{"id":"%s","exp":%d}`, id, exp))
		return hp + "." + sigURL(key, hp)
	}},
	{"cyphernode-client-npm 2019 (Cg==, std padded, hex)", func(id, key string, exp int64) string {
		// JSON.stringify, then Buffer.toString('base64').
		p, _ := json.Marshal(map[string]any{"id": id, "exp": exp})
		hp := hCg + "." + b64std(string(p))
		return hp + "." + sigHex(key, hp)
	}},
	{"older batcher, JS SDK, Go admin app (std, std, hex)", func(id, key string, exp int64) string {
		hp := b64std(`{"alg":"HS256","typ":"JWT"}`) + "." + b64std(fmt.Sprintf(`{"id":"%s","exp":%d}`, id, exp))
		return hp + "." + sigHex(key, hp)
	}},
	{"Python client (Cg==, std with spaces, hex)", func(id, key string, exp int64) string {
		// json.dumps({"id": id, "exp": exp}) puts a space after : and ,.
		hp := hCg + "." + b64std(fmt.Sprintf(`{"id": "%s", "exp": %d}`, id, exp))
		return hp + "." + sigHex(key, hp)
	}},
	{"seed one-liner in Go (echo | base64, echo | openssl: newline everywhere)", func(id, key string, exp int64) string {
		hp := b64std("{\"alg\":\"HS256\",\"typ\":\"JWT\"}\n") + "." + b64std(fmt.Sprintf("{\"id\":\"%s\",\"exp\":%d}\n", id, exp))
		return hp + "." + sigHex(key, hp+"\n")
	}},
	{"portcullis apikey sign", func(id, key string, exp int64) string {
		return Sign(id, key, time.Unix(exp, 0))
	}},
}
