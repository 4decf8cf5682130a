#!/usr/bin/env bash
# Runs every test of the workspace. The terminal end-to-end test drives the real `zchat` in
# tmux, so tmux is installed first when it is missing (needs root and apt, as on CI).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing tmux (needed by the terminal end-to-end test)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
    else
        echo "error: tmux is required by the terminal end-to-end test; install it (e.g. apt-get install tmux)" >&2
        exit 1
    fi
fi
exec cargo test --workspace --locked "$@"
