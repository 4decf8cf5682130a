# zchat backend image: zchat-broker, zchat-proxy and zchat-server in one image.
#
#   docker build -t zchat-backend .          (or: docker compose up --build)
#
# The base images are build arguments whose defaults are the official images.
# On a machine that cannot pull them, scripts/docker-base-images.sh builds local
# stand-ins under the very same names, so this file is used unchanged.
# Works with the classic builder and with BuildKit (no BuildKit-only syntax).
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------
# 1. planner: reduce the source tree to a "recipe" (all Cargo.toml files,
#    Cargo.lock, stub sources for every target; vendored crates whole:
#    vendor/zeromq-src is patched libzmq, C++ sources and a build.rs;
#    vendor/zmq-sys builds it with libsodium, whose `./configure && make`
#    needs the build image's build-essential). Its content only changes
#    when manifests or the set of targets change, so the dependency layer
#    below stays cached across ordinary source edits.
FROM ${RUST_IMAGE} AS planner
WORKDIR /src
COPY . .
RUN set -eu; mkdir -p /recipe; cp Cargo.lock /recipe/; \
    cp -a vendor /recipe/vendor; \
    find . -name Cargo.toml -not -path './target/*' -not -path './vendor/*' | sort | while read -r m; do \
      d=$(dirname "$m"); mkdir -p "/recipe/$d"; cp "$m" "/recipe/$m"; \
      { grep -hoE '^[[:space:]]*path[[:space:]]*=[[:space:]]*"[^"]+\.rs"' "$m" | sed -E 's/.*"([^"]+)"/\1/'; \
        (cd "$d" && ls src/lib.rs src/main.rs src/bin/*.rs src/bin/*/main.rs benches/*.rs tests/*.rs examples/*.rs build.rs 2>/dev/null || true); \
      } | sort -u | while read -r f; do \
        mkdir -p "/recipe/$d/$(dirname "$f")"; \
        case "$f" in \
          build.rs) cp "$d/build.rs" "/recipe/$d/build.rs" ;; \
          *lib.rs) : > "/recipe/$d/$f" ;; \
          *) echo 'fn main() {}' > "/recipe/$d/$f" ;; \
        esac; \
      done; \
    done

# ---------------------------------------------------------------------------
# 2. build: dependencies first (cached layer), then the real sources.
FROM ${RUST_IMAGE} AS build
WORKDIR /src
# No debug info in the image (the workspace keeps it for local profiling).
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=debuginfo \
    CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
COPY --from=planner /recipe/ ./
RUN cargo build --locked --release -p zchat-backend
COPY . .
# COPY keeps the files' old mtimes; make sure cargo sees the real sources
# as newer than the stubs it just built.
RUN find . -name '*.rs' -not -path './target/*' -exec touch {} + \
 && cargo build --locked --release -p zchat-backend --bins \
 && mkdir -p /out \
 && cp target/release/zchat-broker target/release/zchat-proxy target/release/zchat-server /out/

# ---------------------------------------------------------------------------
# 3. runtime: the three binaries and a non-root user, nothing else
#    (they need only glibc and libstdc++, which the slim image has: libzmq,
#    libsodium and SQLite are linked in statically). /data (database) and
#    /keys (the deployment's CURVE key pair) belong to that user: an empty
#    named volume mounted there starts as a copy of them, owner and mode
#    included, so `zchat-server keygen` run as zchat can write the 0600
#    secret key that the other containers (same user) then read.
FROM ${RUNTIME_IMAGE} AS runtime
RUN groupadd --system --gid 10001 zchat \
 && useradd --system --uid 10001 --gid zchat --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin zchat \
 && mkdir -p /data /keys \
 && chown zchat:zchat /data /keys \
 && chmod 0700 /keys
COPY --from=build /out/ /usr/local/bin/
USER zchat:zchat
WORKDIR /data
ENV ZCHAT_DATA_DIR=/data \
    NO_COLOR=1 \
    RUST_LOG=info
# 5555 broker frontend (commands), 5556 broker backend (servers),
# 5557 proxy XPUB (live feed), 5558 proxy XSUB (servers publish).
EXPOSE 5555 5556 5557 5558
LABEL org.opencontainers.image.title="zchat-backend" \
      org.opencontainers.image.description="zchat broker, proxy and server" \
      org.opencontainers.image.licenses="MIT"
CMD ["zchat-server"]
