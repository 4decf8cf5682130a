#!/usr/bin/env bash
# Make sure the two base images the Dockerfile builds FROM exist locally.
#
#   RUST_IMAGE     (default rust:1-bookworm)        the build stage
#   RUNTIME_IMAGE  (default debian:bookworm-slim)   the run stage
#
# For each image: if it is already present, nothing is done. Otherwise it is
# pulled. If it cannot be pulled (no registry reachable, as on an offline CI
# machine), a local stand-in is built under the very same name:
#
#   debian:bookworm-slim  <- `debootstrap --variant=minbase bookworm` of the
#                            Debian archive (plus passwd, which the official
#                            slim image has), trimmed of docs and apt lists,
#                            then `docker import`.
#   rust:1-bookworm       <- the same kind of Debian root plus the C/C++
#                            toolchain the official image carries
#                            (build-essential, pkg-config, ca-certificates,
#                            git), plus this machine's Rust toolchain (rustup
#                            and the default toolchain, without its docs)
#                            laid out as in the official image
#                            (RUSTUP_HOME=/usr/local/rustup,
#                            CARGO_HOME=/usr/local/cargo), and the host's CA
#                            bundle (so cargo inside the build trusts what the
#                            host trusts), then `docker import`.
#
# So the Dockerfile and docker-compose.yml stay exactly what users run against
# the official images. Idempotent; safe to run again. Needs root (debootstrap)
# when a stand-in has to be made. Set ZCHAT_NO_PULL=1 to skip the pull attempt.
set -euo pipefail

RUST_IMAGE="${RUST_IMAGE:-rust:1-bookworm}"
RUNTIME_IMAGE="${RUNTIME_IMAGE:-debian:bookworm-slim}"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PULL_TIMEOUT="${PULL_TIMEOUT:-1800}"
WORK="${ZCHAT_BASE_WORKDIR:-${TMPDIR:-/tmp}/zchat-base-images}"

log() { printf '[docker-base-images] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

try_pull() {
  [ "${ZCHAT_NO_PULL:-0}" = 1 ] && return 1
  log "trying: docker pull $1 (timeout ${PULL_TIMEOUT}s)"
  if timeout "$PULL_TIMEOUT" docker pull "$1" >/dev/null 2>&1; then
    log "pulled $1"
    return 0
  fi
  log "cannot pull $1; building a local stand-in"
  return 1
}

need_debootstrap() {
  [ "$(id -u)" = 0 ] || die "building a stand-in needs root (debootstrap); run as root or pull $*"
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
}

# debootstrap ROOT EXTRA_PACKAGES -> a trimmed minbase Debian root in ROOT
make_root() {
  local root="$1" include="$2"
  rm -rf "$root"
  mkdir -p "$root"
  log "debootstrap --variant=minbase --include=$include $SUITE $root $MIRROR"
  debootstrap --variant=minbase --include="$include" "$SUITE" "$root" "$MIRROR" \
    >"$root.debootstrap.log" 2>&1 || { tail -20 "$root.debootstrap.log" >&2; die "debootstrap failed"; }
  # Same sources as the official image, and the same trimming.
  printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
    "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SUITE" >"$root/etc/apt/sources.list"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/* \
         "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
         "$root"/usr/share/locale/* "$root"/tmp/* "$root"/root/.cache
  : >"$root/etc/resolv.conf"
  : >"$root/etc/hostname"
}

# import ROOT TAG [--change ...]
import_root() {
  local root="$1" tag="$2"; shift 2
  log "docker import -> $tag"
  tar --numeric-owner -C "$root" -c . | docker import "$@" - "$tag" >/dev/null
}

build_runtime() {
  need_debootstrap "$RUNTIME_IMAGE"
  local root="$WORK/runtime-root"
  make_root "$root" passwd
  import_root "$root" "$RUNTIME_IMAGE" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "zchat local stand-in for $RUNTIME_IMAGE (debootstrap $SUITE minbase)"
  rm -rf "$root" "$root.debootstrap.log"
}

build_rust() {
  need_debootstrap "$RUST_IMAGE"
  local rustup_home="${RUSTUP_HOME:-$HOME/.rustup}" cargo_home="${CARGO_HOME:-$HOME/.cargo}"
  command -v rustc >/dev/null || die "no Rust toolchain on this machine to copy into $RUST_IMAGE"
  local sysroot; sysroot="$(rustc --print sysroot)"
  [ -x "$sysroot/bin/cargo" ] || die "no cargo in $sysroot"
  local tcname; tcname="$(basename "$sysroot")"
  local root="$WORK/rust-root"
  make_root "$root" passwd,build-essential,pkg-config,ca-certificates,git,curl

  log "copying the host toolchain $tcname ($("$sysroot/bin/rustc" --version)) into the image"
  local tc="$root/usr/local/rustup/toolchains/$tcname"
  mkdir -p "$tc" "$root/usr/local/cargo/bin"
  # Everything but the docs (share/doc is ~800 MB of HTML).
  tar -C "$sysroot" --exclude=./share/doc -c . | tar -C "$tc" -x
  if [ -x "$cargo_home/bin/rustup" ] && [ -d "$rustup_home" ]; then
    # rustup + proxies, as in the official image.
    cp "$cargo_home/bin/rustup" "$root/usr/local/cargo/bin/rustup"
    for p in cargo rustc rustdoc cargo-clippy clippy-driver cargo-fmt rustfmt rust-gdb rust-lldb; do
      [ -e "$tc/bin/$p" ] && ln -f "$root/usr/local/cargo/bin/rustup" "$root/usr/local/cargo/bin/$p"
    done
    printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\nauto_self_update = "disable"\n\n[overrides]\n' \
      "$tcname" >"$root/usr/local/rustup/settings.toml"
  else
    for p in "$tc"/bin/*; do ln -s "/usr/local/rustup/toolchains/$tcname/bin/$(basename "$p")" "$root/usr/local/cargo/bin/"; done
  fi
  chmod -R a+rwX "$root/usr/local/cargo" "$root/usr/local/rustup"
  # Trust what the host trusts: where the machine reaches crates.io through a
  # TLS-intercepting proxy whose CA is in the host's bundle, cargo inside the
  # build needs that CA too. (The official image is used unchanged elsewhere.)
  local bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
  if [ -s "$bundle" ]; then
    log "using the host's CA bundle $bundle in the build image"
    cp "$bundle" "$root/etc/ssl/certs/ca-certificates.crt"
  fi

  import_root "$root" "$RUST_IMAGE" \
    --change 'ENV RUSTUP_HOME=/usr/local/rustup' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "zchat local stand-in for $RUST_IMAGE (debootstrap $SUITE + host $tcname)"
  # Smoke test: the toolchain runs inside the image.
  docker run --rm "$RUST_IMAGE" sh -c 'cargo --version && rustc --version && cc --version | head -1 && c++ --version | head -1' >&2 \
    || die "the stand-in $RUST_IMAGE does not run cargo/rustc/cc"
  rm -rf "$root" "$root.debootstrap.log"
}

docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"
mkdir -p "$WORK"

for img in "$RUNTIME_IMAGE" "$RUST_IMAGE"; do
  if have_image "$img"; then
    log "$img: present, skipped"
    continue
  fi
  try_pull "$img" && continue
  start=$(date +%s)
  if [ "$img" = "$RUNTIME_IMAGE" ]; then build_runtime; else build_rust; fi
  log "$img: stand-in built in $(( $(date +%s) - start ))s ($(docker image inspect -f '{{.Size}}' "$img" | awk '{printf "%.0f MB", $1/1e6}'))"
done
