#!/usr/bin/env bash
# Prepares a machine for `zchat-bench`:
#  1. installs Debian's ngircd (the IRC peer of the fan-out scenario) if it is missing, and makes
#     sure the packaged system service is stopped and disabled: the bench runs its own instance,
#     in the foreground, bound to 127.0.0.1 on a free port, from a config in a temp dir;
#  2. builds the zchat binaries the bench starts (broker, proxy, server) in release mode.
#
# Idempotent; safe to run on every CI run. Needs root (or sudo) only for the install step.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

if ! command -v ngircd >/dev/null 2>&1 && [ ! -x /usr/sbin/ngircd ]; then
    echo "bench-setup: installing ngircd"
    export DEBIAN_FRONTEND=noninteractive
    # The package's postinst may try to start the service; forbid that (policy-rc.d exit 101).
    policy=/usr/sbin/policy-rc.d
    had_policy=0
    [ -e "$policy" ] && had_policy=1
    if [ "$had_policy" -eq 0 ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod +x "$policy"
    fi
    if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends ngircd; }; then
        echo "bench-setup: could not install ngircd; the IRC rows will be skipped" >&2
    fi
    [ "$had_policy" -eq 0 ] && $SUDO rm -f "$policy"
fi

# Never leave the packaged daemon listening on 6667.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now ngircd >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/ngircd ]; then
    $SUDO /etc/init.d/ngircd stop >/dev/null 2>&1 || true
    if command -v update-rc.d >/dev/null 2>&1; then $SUDO update-rc.d ngircd disable >/dev/null 2>&1 || true; fi
fi
if [ -f /run/ngircd/ngircd.pid ]; then
    pid=$(cat /run/ngircd/ngircd.pid 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null || true)" = ngircd ]; then
        $SUDO kill "$pid" 2>/dev/null || true
    fi
fi

echo "bench-setup: building zchat binaries (release)"
cargo build --release --locked -p zchat-backend --bins
echo "bench-setup: done"
