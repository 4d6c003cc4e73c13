// Package apigw is Portcullis' HMAC API-key gateway: a listener of its own
// that accepts the short-lived HS256 bearer tokens cyphernode's clients
// make (every format in use, see token.go), checks them in constant time
// against keys from keys.properties files or the store, refuses replays,
// applies per-route and per-action groups and a per-key rate limit, and
// forwards to upstream services with httputil.ReverseProxy, streams and
// websockets included.
package apigw
