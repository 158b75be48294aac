# syntax=docker/dockerfile:1
# The `reviewbot` image: built with the Rust toolchain, run on slim Debian as a non-root user.
#
#   docker build -t reviewbot .
#   docker run --init -p 8080:8080 -v reviewbot-data:/data \
#       -e GITHUB_APP_ID=... -e GITHUB_WEBHOOK_SECRET=... -e GITHUB_PRIVATE_KEY="$(cat key.pem)" \
#       reviewbot
#   docker run --rm -v reviewbot-data:/data reviewbot as-reviewbot reviewbot migrate
#   docker stop --time 120 <container>      # let workers finish (see fly.toml's kill_timeout)
#
# No ENTRYPOINT, on purpose: Fly runs `release_command` ("reviewbot migrate") in place of CMD
# but keeps ENTRYPOINT, so an ENTRYPOINT of "reviewbot" would run `reviewbot reviewbot migrate`.
# tests/scenarios/deployment.rs checks this file against fly.toml.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---- build ------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
COPY . .
# BuildKit cache mounts keep the crates.io registry and compiled dependencies between builds,
# so a change to our code recompiles only our crates. A cache mount is not part of the image,
# hence the copy of the binary out of it.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p bot --bin reviewbot \
 && install -D -m 0755 target/release/reviewbot /out/reviewbot

# ---- run --------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# TLS is rustls (ring); no OpenSSL. The system CA bundle is for GitHub and Azure OpenAI.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# /data holds the SQLite database. It exists in the image so that the release_command
# Machine, which has no volume, can still create its throwaway database there; on Fly the
# volume is mounted over it.
RUN groupadd --system --gid 10001 reviewbot \
 && useradd --system --uid 10001 --gid reviewbot --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin reviewbot \
 && mkdir -p /data \
 && chown reviewbot:reviewbot /data
# A freshly created volume may be mounted owned by root, which the app user could not write.
# The container therefore starts as root only long enough to hand /data to the app user, then
# drops to it for good with setpriv (util-linux, in every Debian image) and execs the
# command, so SIGTERM still reaches reviewbot directly.
RUN printf '%s\n' \
        '#!/bin/sh' \
        'set -eu' \
        'if [ "$(id -u)" -eq 0 ]; then' \
        '    chown reviewbot:reviewbot /data' \
        '    exec setpriv --reuid=reviewbot --regid=reviewbot --init-groups --inh-caps=-all -- "$@"' \
        'fi' \
        'exec "$@"' \
        > /usr/local/bin/as-reviewbot \
 && chmod 0755 /usr/local/bin/as-reviewbot
COPY --from=builder /out/reviewbot /usr/local/bin/reviewbot
WORKDIR /data
ENV REVIEWBOT_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/reviewbot.db \
    REVIEWBOT_LOG_FORMAT=json
EXPOSE 8080
# The binary handles SIGTERM (graceful shutdown); Docker's default, stated for readers.
STOPSIGNAL SIGTERM
# No HEALTHCHECK: the slim image has no curl or wget to run one. On Fly, fly.toml's
# [[http_service.checks]] probe /healthz and /readyz.
CMD ["as-reviewbot", "reviewbot", "serve"]
