# syntax=docker/dockerfile:1
#
# One image for every Weaver role (`weaver serve` on 3000, `weaver mcp --http` on 3001,
# `weaver gateway` on 8080): the role is the command, not the image.
#
#   docker build -t weave-nn/weaver:dev .
#   docker run --rm -p 3000:3000 -v "$PWD/demo-vault:/vault" weave-nn/weaver:dev
#
# Layout inside the image:
#   /usr/local/bin/weaver      the binary (ENTRYPOINT, exec form: it is PID 1 and handles SIGTERM
#                              itself: readiness turns 503, requests drain, caches are flushed)
#   /etc/weaver/weaver.toml    default configuration (deploy/weaver.toml); mount a folder over
#                              /etc/weaver to replace it (a folder, not a file, so that updates of
#                              a Kubernetes ConfigMap reach the process and hot-reload it)
#   /vault                     the vault (bind mount or volume); also the working folder, so that
#                              `docker run ... IMAGE search foo` queries it
#   /data                      cache and search index (a volume; disposable, rebuilt from /vault)
#   /usr/share/weaver/models/all-MiniLM-L6-v2
#                              the embedding model for semantic search (90 MB, Apache-2.0), fetched
#                              by `weaver model download` in the build stage, which checks every
#                              file's SHA-256; the configuration names it ([search.semantic])
#
# Nothing else is written: the image runs with a read-only root filesystem (give it a /tmp
# tmpfs or emptyDir for good measure). No HEALTHCHECK here, because the port depends on the role;
# Compose and Kubernetes probe `/livez` and `/readyz` per service.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm
# Where the build stage fetches the model from: the Hugging Face hub, or a mirror of its layout.
ARG MODEL_HUB=https://huggingface.co

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
# The build needs only the workspace manifests and the crates (see .dockerignore). SQLite,
# tantivy's compression and mimalloc are compiled from source with the image's gcc.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
# The web UI's committed build, embedded by weaver-server (no Node needed here).
COPY web/dist ./web/dist
RUN --mount=type=cache,id=weaver-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=weaver-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=weaver-target,target=/src/target,sharing=locked \
    cargo build --release --locked -p weaver \
    && install -D -m 0755 target/release/weaver /out/weaver \
    && /out/weaver --version
# The model, checked file by file against the SHA-256 sums pinned in the binary
# (crates/weaver/src/model.rs); a changed or truncated file fails the build.
ARG MODEL_HUB
RUN /out/weaver model download --dir /out/model --hub-url "${MODEL_HUB}" \
    && /out/weaver model status --model-dir /out/model

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates: for HTTPS upstreams and OTLP collectors. The user has a fixed numeric id so
# that Kubernetes' runAsNonRoot can verify it. /data is sticky and world-writable like /tmp so
# that Compose can run the container as the host user (WEAVER_UID) and still keep its cache in
# the named volume, which Docker initialises from this folder.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 weaver \
    && useradd --system --no-log-init --uid 10001 --gid weaver --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin weaver \
    && install -d -o weaver -g weaver -m 0755 /vault \
    && install -d -o weaver -g weaver -m 1777 /data \
    && install -d -m 0755 /etc/weaver
COPY --from=build /out/weaver /usr/local/bin/weaver
COPY --from=build /out/model /usr/share/weaver/models/all-MiniLM-L6-v2
COPY deploy/weaver.toml /etc/weaver/weaver.toml

ENV WEAVER_CONFIG=/etc/weaver/weaver.toml
WORKDIR /vault
USER 10001:10001
EXPOSE 3000
STOPSIGNAL SIGTERM
ENTRYPOINT ["weaver"]
CMD ["serve", "--listen", "0.0.0.0:3000"]

LABEL org.opencontainers.image.title="weaver" \
      org.opencontainers.image.description="Weave-NN Weaver: knowledge graph over a Markdown vault (serve, mcp, gateway)" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
