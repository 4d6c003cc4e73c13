// Package engine is the Docker Engine API gateway: a TLS listener in front
// of the Docker daemon that accepts named, revocable tokens (Authorization:
// Bearer, or the SOAJS docker-api's `token` header) instead of client
// certificates, applies a per-token policy (full, read-only or a named
// section allowlist with container-create rules) to the normalised path and
// the inspected request body, and forwards what it allowed, upgrades
// (exec, attach, BuildKit's h2c) and long streams included.
package engine
