#!/usr/bin/env bash
# Installs what the tests need beyond Rust, when it is missing:
#   tmux        the terminal end-to-end test drives the real `zchat` in tmux;
#   postgresql  the PostgreSQL engine's tests start a real server from Debian's packages
#               (initdb, postgres, pg_isready under /usr/lib/postgresql/VERSION/bin; see
#               backend/src/test_postgres.rs), unless ZCHAT_PG_BIN names another directory.
# Installing needs root and apt-get (as on CI: a fresh Debian 12 machine gets everything);
# otherwise a missing package is an error that says what to install. Idempotent.
set -euo pipefail

have_postgres() {
  if [ -n "${ZCHAT_PG_BIN:-}" ]; then
    [ -x "$ZCHAT_PG_BIN/initdb" ] && [ -x "$ZCHAT_PG_BIN/postgres" ] && [ -x "$ZCHAT_PG_BIN/pg_isready" ]
    return
  fi
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/pg_isready" ] && return 0
  done
  return 1
}

missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
have_postgres || missing+=(postgresql)
[ "${#missing[@]}" = 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (needed by the tests)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  if ! have_postgres; then
    echo "error: postgresql was installed but no initdb/postgres/pg_isready is under /usr/lib/postgresql/*/bin" >&2
    exit 1
  fi
else
  echo "error: the tests need ${missing[*]}; install them (e.g. apt-get install ${missing[*]})" >&2
  exit 1
fi
