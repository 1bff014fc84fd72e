# keyslot-server image, built the usual way (needs a registry for rust and debian):
#
#   docker build -t keyslot:latest .          # or: docker compose build
#
# Without registry access (as on the development machines), docker/build-offline-image builds
# an equivalent image, keyslot:offline, from the host's binaries; see README.

# --- build stage ---------------------------------------------------------------------------
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin keyslot-server \
 && cp target/release/keyslot-server /keyslot-server \
 && strip --strip-debug /keyslot-server

# --- runtime stage: keyslot-server, redis-cli (redis-tools) and bash -------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-tools bash \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /keyslot-server /usr/local/bin/keyslot-server
WORKDIR /data
VOLUME /data
EXPOSE 6379 16379
CMD ["keyslot-server"]
