# syntax=docker/dockerfile:1
#
# Lightr container image: a static binary on distroless, running as the
# non-root user 65532. Build with
#   docker build --build-arg VERSION=$(git describe --always --dirty) -t lightr .
# The image exposes the default, unprivileged ports; publish them on the
# standard ones with e.g. `docker run -p 25:2525 -p 143:1143 -p 8080:8080`.

# ---- build -----------------------------------------------------------------
FROM golang:1.26-bookworm AS build

WORKDIR /src

# Modules first, so that this layer is reused while only code changes.
COPY go.mod go.sum ./
RUN go mod download

COPY . .

# Version string for main.version; .git is not in the build context. The
# cache mount (BuildKit) keeps Go's build cache between builds.
ARG VERSION=dev
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
        -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/lightr ./cmd/lightr

# The data and config directories must exist and belong to the nonroot user
# in the final image (distroless has no shell to mkdir/chown there).
# /etc/lightr is writable so that `lightr init` can write a config into a
# mounted volume there.
RUN mkdir -p /out/var/lib/lightr /out/etc/lightr

# ---- run -------------------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/lightr /lightr
COPY --from=build --chown=65532:65532 /out/var/lib/lightr /var/lib/lightr
COPY --from=build --chown=65532:65532 /out/etc/lightr /etc/lightr

# Settings from the environment override the config file (flags override
# both). State goes to the volume whatever data_dir the file says, and the
# API listens on all interfaces of the container, not its loopback.
ENV LIGHTR_DATA_DIR=/var/lib/lightr \
    LIGHTR_HTTP_ADDR=:8080

USER 65532:65532
WORKDIR /var/lib/lightr
VOLUME /var/lib/lightr

# 8080 HTTP (GraphQL, WebSocket, REST), 2525 SMTP, 1143 IMAP.
EXPOSE 8080 2525 1143
# Later, with TLS: 587 submission, 465 submissions, 993 IMAPS.
# EXPOSE 587 465 993

# No HEALTHCHECK: distroless has no shell or curl, and lightr has no
# `healthcheck` subcommand yet. Orchestrators can probe the HTTP port.

# Mount the config at /etc/lightr/lightr.yaml, or write one first with
#   docker run --rm -v lightr-etc:/etc/lightr -v lightr-data:/var/lib/lightr \
#     lightr init --config /etc/lightr/lightr.yaml --data-dir /var/lib/lightr
# (`init` takes --data-dir, not LIGHTR_DATA_DIR).
ENTRYPOINT ["/lightr"]
CMD ["serve", "--config", "/etc/lightr/lightr.yaml"]
