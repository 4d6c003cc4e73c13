# Portcullis. `make run` starts the server on its embedded default;
# `make test` installs the real components the tests need and runs them all.
GO ?= go
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: build run test test-short deps bench bench-token bench-ldap bench-engine bench-apigw lint fuzz

build:
	CGO_ENABLED=0 $(GO) build -o bin/portcullis ./cmd/portcullis

run: build
	./bin/portcullis serve

deps:
	./scripts/install-test-deps.sh

test: deps
	PORTCULLIS_REQUIRE_COMPONENTS=1 $(GO) test -count=1 -timeout 25m -p 2 ./...

test-short:
	$(GO) test -short ./...

lint:
	$(GO) vet ./...
	test -z "$$(gofmt -l .)"
	$(GO) tool staticcheck ./...

# Each bench script runs its baseline and Portcullis side by side in one run
# and prints ratios; docs/benchmarks.md records the figures.
bench: bench-token bench-ldap bench-engine bench-apigw

bench-token:
	./scripts/bench

bench-ldap:
	./scripts/bench-ldap

bench-engine:
	./scripts/bench-engine

bench-apigw:
	./scripts/bench-apigw

fuzz:
	./scripts/fuzz
