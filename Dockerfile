# keyslot-server image, built the usual way (needs a registry for rust and debian):
#
#   docker build -t keyslot:latest .          # or: docker compose build
#
# Without registry access (as on the development machines), docker/build-offline-image builds
# an equivalent image, keyslot:offline, from the host's binaries; see README.

# --- build stage ---------------------------------------------------------------------------
FROM rust:1-slim-bookworm AS build
# make: tikv-jemalloc-sys builds jemalloc (keyslot-server's allocator) with its own makefiles.
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# keyslot-sim (the simulator, built with --cfg madsim by sim/.cargo/config.toml into
# target/sim) is in the image too, for deploy/explore-job.yaml's shards.
# keyslot-server with the `dist` profile (fat LTO, Cargo.toml): the build bench/compare measures.
RUN cargo build --profile dist --locked --bin keyslot-server \
 && (cd sim && cargo build --release --locked --bin keyslot-sim) \
 && cp target/dist/keyslot-server /keyslot-server \
 && cp target/sim/release/keyslot-sim /keyslot-sim \
 && strip --strip-debug /keyslot-server /keyslot-sim

# --- runtime stage: keyslot-server, keyslot-sim + scenarios, redis-cli (redis-tools), bash ---
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-tools bash \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /keyslot-server /usr/local/bin/keyslot-server
COPY --from=build /keyslot-sim /usr/local/bin/keyslot-sim
COPY scenarios /usr/local/share/keyslot/scenarios
ENV KEYSLOT_SCENARIOS=/usr/local/share/keyslot/scenarios
# Protected mode off by default, as in the official redis image (nodes talk across containers).
ENV KEYSLOT_PROTECTED_MODE_DEFAULT=no
WORKDIR /data
VOLUME /data
EXPOSE 6379 16379
CMD ["keyslot-server"]
