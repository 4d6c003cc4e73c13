// Package keys holds Portcullis' token signing keys and the small part of
// JOSE it needs: generating, loading and saving keys with their
// certificates, the JWT header a Docker registry accepts (a libtrust `kid`
// for distribution 2.8 and an `x5c` chain for every version), compact
// signing on the token server's hot path, RFC 7638 thumbprints, the public
// JWKS, and strict verification for tests and tools.
//
// Signature primitives come from github.com/golang-jwt/jwt/v5; JWKS
// documents are marshalled with github.com/go-jose/go-jose/v4, the library
// the registry itself parses them with.
package keys
