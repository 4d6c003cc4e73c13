# syntax=docker/dockerfile:1
#
# Portcullis as a static binary on a distroless base, running as the
# non-root user 65532.
#
#   docker build -t portcullis:latest .
#
# The Docker Engine API gateway reaches the daemon through its socket,
# which belongs to root and the docker group. Mount it and add that group
# (the numeric GID of the socket on the host):
#
#   docker run -d -p 2376:2376 \
#     --user 65532:$(stat -c %g /var/run/docker.sock) \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     -v /srv/portcullis:/data \
#     -e PORTCULLIS_ENGINE_ENABLED=true \
#     portcullis:latest serve
#
# `portcullis engine init` prints these lines with the right values.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" \
      -o /out/portcullis ./cmd/portcullis \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portcullis /usr/local/bin/portcullis
COPY --from=build --chown=65532:65532 /out/data /data
ENV PORTCULLIS_DATA_DIR=/data
VOLUME ["/data"]
USER 65532:65532
# 5001: token service (set PORTCULLIS_SERVER_ADDR=:5001 to publish it);
# 2376: Docker Engine API gateway.
EXPOSE 5001 2376
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve"]
