// Package apptoken implements application tokens: named, revocable,
// optionally scoped and expiring secrets that a user creates to use as the
// password of `docker login`, so that the real password (often a directory
// password) is never written to ~/.docker/config.json.
//
// A token looks like pcat_<43 base62 characters><6 base62 characters>: the
// prefix lets secret scanners find leaked tokens, the CRC32 checksum at the
// end lets a typo be told from a wrong token without asking the database.
// Only the SHA-256 of the whole token is stored. App tokens are accepted by
// the registry token service only, never by the JSON API.
package apptoken
