#!/usr/bin/env bash
# Runs every test of the workspace. Installs what the tests need first when it is missing
# (scripts/test-deps.sh: tmux for the terminal end-to-end test, postgresql for the
# PostgreSQL tests; needs root and apt, as on CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-deps.sh
exec cargo test --workspace --locked "$@"
