#!/usr/bin/env bash
# Installs every real component the test suite talks to. Idempotent; needs
# root on Debian (it is skipped, with a note, otherwise).
set -euo pipefail

pkgs=(docker.io docker-registry skopeo postgresql slapd ldap-utils redis-server wrk nginx-light haproxy
      apache2-utils busybox-static openssl curl ca-certificates util-linux)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
		echo "install-test-deps: not root on Debian; please install: ${missing[*]}" >&2
	else
		echo "install-test-deps: installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		# slapd asks questions on install; preseed it to stay quiet.
		echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
fi

# Registry 3.x, built from source through the Go module proxy.
gobin=$(go env GOPATH)/bin
if [[ ! -x $gobin/registry ]]; then
	echo "install-test-deps: go install distribution registry v3"
	GOFLAGS= go install github.com/distribution/distribution/v3/cmd/registry@v3
fi
# docker buildx (BuildKit's client, a docker CLI plugin), built the same
# way; tests link it into their own DOCKER_CONFIG only, so that the CLI's
# `docker build` elsewhere stays the classic builder.
if [[ ! -x $gobin/buildx ]]; then
	echo "install-test-deps: go install docker buildx"
	GOFLAGS= go install github.com/docker/buildx/cmd/buildx@v0.19.3
fi
# docker compose v2, the same way (`go install` names it cmd).
if [[ ! -x $gobin/docker-compose ]]; then
	echo "install-test-deps: go install docker compose"
	GOFLAGS= go install github.com/docker/compose/v2/cmd@v2.29.7
	mv "$gobin/cmd" "$gobin/docker-compose"
fi
echo "install-test-deps: done"
