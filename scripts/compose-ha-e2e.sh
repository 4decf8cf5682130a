#!/usr/bin/env bash
# End-to-end failover test of the HA Compose stack (docker-compose.yml +
# docker-compose.ha.yml: PostgreSQL, three servers, two brokers, two proxies),
# driven from the host.
#
#  1. builds the zchat and PostgreSQL images (base images made locally when they
#     cannot be pulled: scripts/docker-base-images.sh) and starts the stack;
#     every service healthy, the servers on PostgreSQL (ZCHAT_DB);
#  2. registers four users, who join one channel; one of them runs
#     `zchat tail --json` over both proxies (`--proxy a,b`);
#  3. the four post at once from the host's `zchat` (`--broker a,b`: two of
#     them list broker 1 first, two broker 2 first, so both carry traffic)
#     while, one after the other, `docker kill` hits a server, a broker, a
#     proxy and then another server; each is started again (`docker start`)
#     and must be healthy, and posts must be acknowledged again, before the
#     next fault;
#  4. checks: >= 99 % of the sends acknowledged; `history` (paged) holds every
#     acknowledged message exactly once, and the channel's seqs are gap-free
#     (consecutive) and strictly increasing; the live tail showed every
#     acknowledged message exactly once, in seq order;
#  5. tears down with `down -v` and checks nothing of the project is left.
#
# Every wait is bounded. Exits non-zero with a message on the first failure.
# Needs the host client's comma-separated --broker/--proxy lists and the
# server's --db (ZCHAT_DB) and list support.
# Environment knobs: ZCHAT_E2E_PROFILE (release|debug, default release),
# ZCHAT_E2E_KEEP=1 (leave the stack up on failure), ZCHAT_HA_POSTS (posts per
# client, default 40), RUST_IMAGE / RUNTIME_IMAGE.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
T0=$(date +%s)
PROJECT="${ZCHAT_E2E_PROJECT:-zchat-ha-e2e-$$}"
PROFILE="${ZCHAT_E2E_PROFILE:-release}"
POSTS="${ZCHAT_HA_POSTS:-40}"
CLIENTS=(alice bob carol dave)
TMP="$(mktemp -d "${TMPDIR:-/tmp}/zchat-ha-e2e.XXXXXX")"
TAIL_PID=""
POSTER_PIDS=()
PASS=0
FAILED=1

log()  { printf '[compose-ha-e2e %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
ok()   { PASS=$((PASS + 1)); log "ok: $*"; }

# ---------------------------------------------------------------- tools
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose)
else
  fail "neither 'docker compose' nor 'docker-compose' is installed"
fi
docker info >/dev/null 2>&1 || fail "no Docker engine answers (docker info)"
if ! command -v python3 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing python3 (used by the checks)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
  else
    fail "python3 is required by the checks; install it"
  fi
fi
FILES=(-f "$ROOT/docker-compose.yml" -f "$ROOT/docker-compose.ha.yml")
dc() { "${COMPOSE[@]}" -p "$PROJECT" "${FILES[@]}" "$@"; }

# ------------------------------------------------------------ free host ports
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PICKED=" "
pick_port() {
  local p i
  for i in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 12000 ))   # below the ephemeral port range
    if port_free "$p" && [[ "$PICKED" != *" $p "* ]]; then PICKED+="$p "; echo "$p"; return 0; fi
  done
  fail "no free TCP port found"
}
export ZCHAT_PUBLISH_ADDR=127.0.0.1
export ZCHAT_COMMAND_PORT; ZCHAT_COMMAND_PORT="$(pick_port)"; PICKED+="$ZCHAT_COMMAND_PORT "
export ZCHAT_COMMAND_PORT2; ZCHAT_COMMAND_PORT2="$(pick_port)"; PICKED+="$ZCHAT_COMMAND_PORT2 "
export ZCHAT_FEED_PORT; ZCHAT_FEED_PORT="$(pick_port)"; PICKED+="$ZCHAT_FEED_PORT "
export ZCHAT_FEED_PORT2; ZCHAT_FEED_PORT2="$(pick_port)"
export RUST_LOG="${RUST_LOG:-info}"
export ZCHAT_POSTGRES_PASSWORD; ZCHAT_POSTGRES_PASSWORD="$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
unset ZCHAT_SERVER_KEY ZCHAT_PLAINTEXT ZCHAT_BROKER ZCHAT_PROXY
B1="tcp://127.0.0.1:$ZCHAT_COMMAND_PORT"
B2="tcp://127.0.0.1:$ZCHAT_COMMAND_PORT2"
P1="tcp://127.0.0.1:$ZCHAT_FEED_PORT"
P2="tcp://127.0.0.1:$ZCHAT_FEED_PORT2"

# -------------------------------------------------------------------- cleanup
stop_pid() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  [ -n "$TAIL_PID" ] && stop_pid "$TAIL_PID"
  for p in "${POSTER_PIDS[@]}"; do stop_pid "$p"; done
  if [ "$FAILED" = 1 ]; then
    log "---- compose ps ----"; dc ps >&2 2>&1
    log "---- last service logs ----"; dc logs --no-color --tail=40 >&2 2>&1
    if [ -s "$TMP/tail.err" ]; then log "---- tail stderr ----"; tail -n 20 "$TMP/tail.err" >&2; fi
    for c in "${CLIENTS[@]}"; do
      if [ -s "$TMP/poster-$c.log" ]; then log "---- poster $c (last 10 lines) ----"; tail -n 10 "$TMP/poster-$c.log" >&2; fi
    done
  fi
  if [ "$FAILED" = 1 ] && [ "${ZCHAT_E2E_KEEP:-0}" = 1 ]; then
    log "ZCHAT_E2E_KEEP=1: leaving project $PROJECT up; remove with: ${COMPOSE[*]} -p $PROJECT -f docker-compose.yml -f docker-compose.ha.yml down -v"
  else
    timeout 180 "${COMPOSE[@]}" -p "$PROJECT" "${FILES[@]}" down -v --remove-orphans --timeout 10 >/dev/null 2>&1
    left="$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")$(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT")"
    if [ -n "$left" ]; then log "WARNING: project $PROJECT left something behind: $left"; [ "$rc" = 0 ] && rc=1; fi
  fi
  rm -rf "$TMP"
  if [ "$rc" = 0 ]; then
    log "compose HA e2e: PASSED in $(( $(date +%s) - T0 ))s"
    echo "compose-ha-e2e: $PASS passed, 0 failed"
  else
    log "compose HA e2e: FAILED (exit $rc)"
    echo "compose-ha-e2e: $PASS passed, 1 failed"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- base images
RUST_IMAGE="${RUST_IMAGE:-rust:1-bookworm}"
RUNTIME_IMAGE="${RUNTIME_IMAGE:-debian:bookworm-slim}"
export RUST_IMAGE RUNTIME_IMAGE
if ! docker image inspect "$RUST_IMAGE" >/dev/null 2>&1 || ! docker image inspect "$RUNTIME_IMAGE" >/dev/null 2>&1; then
  log "base images missing: running scripts/docker-base-images.sh"
  bash "$ROOT/scripts/docker-base-images.sh" || fail "could not provide base images $RUST_IMAGE / $RUNTIME_IMAGE"
fi

# -------------------------------------------------------------- host client
log "building the host client: cargo build --locked --$PROFILE -p zchat"
if [ "$PROFILE" = release ]; then
  cargo build --locked --release -p zchat >"$TMP/cargo.log" 2>&1 || { tail -30 "$TMP/cargo.log" >&2; fail "cargo build of zchat failed"; }
else
  cargo build --locked -p zchat >"$TMP/cargo.log" 2>&1 || { tail -30 "$TMP/cargo.log" >&2; fail "cargo build of zchat failed"; }
fi
ZCHAT="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/zchat"
[ -x "$ZCHAT" ] || fail "no zchat binary at $ZCHAT"

PASSWORD="ha-Secret-$$"
SERVER_KEY=""
# zc USER [--first2] ARGS...: a zchat subcommand as USER (own session dir), bounded, with
# both brokers and both proxies; --first2 lists broker 2 and proxy 2 first.
zc() {
  local user="$1"; shift
  local brokers="$B1,$B2" proxies="$P1,$P2"
  if [ "${1:-}" = --first2 ]; then brokers="$B2,$B1"; proxies="$P2,$P1"; shift; fi
  ZCHAT_HOME="$TMP/home-$user" ZCHAT_PASSWORD="$PASSWORD" \
    timeout "${ZC_TIMEOUT:-30}" "$ZCHAT" --broker "$brokers" --proxy "$proxies" --server-key "$SERVER_KEY" "$@"
}

# ------------------------------------------------------------ stack helpers
SERVICES=(postgres broker broker2 proxy proxy2 server server2 server3)
cid() { dc ps -q "$1" 2>/dev/null | head -1; }
wait_healthy() {
  local svc="$1" limit="${2:-120}" start id st=""
  start=$(date +%s)
  while :; do
    id="$(cid "$svc")"
    if [ -n "$id" ]; then
      st="$(docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id" 2>/dev/null || echo gone)"
      [ "$st" = "running/healthy" ] && return 0
    fi
    [ $(( $(date +%s) - start )) -lt "$limit" ] || fail "service $svc not healthy after ${limit}s (state: ${st:-no container})"
    sleep 1
  done
}
wait_all() { local s; for s in "${SERVICES[@]}"; do wait_healthy "$s" "${1:-180}"; done; }

# ============================================================== 1. build + up
log "project $PROJECT; brokers $B1,$B2; proxies $P1,$P2; compose: ${COMPOSE[*]}"
t=$(date +%s)
dc build broker postgres >"$TMP/build.log" 2>&1 || { tail -40 "$TMP/build.log" >&2; fail "docker compose build failed"; }
log "images built in $(( $(date +%s) - t ))s"
t=$(date +%s)
dc up -d >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log" >&2; fail "docker compose up -d failed"; }
wait_all 240
ok "HA stack up and healthy in $(( $(date +%s) - t ))s: ${SERVICES[*]}"
for s in server server2 server3; do
  env_db="$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$(cid "$s")" | grep '^ZCHAT_DB=' || true)"
  [[ "$env_db" == ZCHAT_DB=postgres://*@postgres:5432/zchat ]] || fail "$s does not run on PostgreSQL: '${env_db%%:*}…'"
done
ok "the three servers run on postgres://…@postgres:5432/zchat"
uid="$(docker exec "$(cid postgres)" id -un)"
[ "$uid" = postgres ] || fail "the postgres container runs as $uid"
ok "postgres runs as the postgres user"

SERVER_KEY="$(timeout 60 "${COMPOSE[@]}" -p "$PROJECT" "${FILES[@]}" run --rm -T keygen 2>"$TMP/keygen.err")" \
  || { cat "$TMP/keygen.err" >&2; fail "docker compose run --rm -T keygen failed"; }
[ "${#SERVER_KEY}" = 40 ] || fail "keygen printed no 40-character key: '$SERVER_KEY'"
ok "deployment key: $SERVER_KEY"

# ============================================================== 2. users, channel, tail
for u in "${CLIENTS[@]}"; do
  zc "$u" register "$u" >"$TMP/out" 2>&1 || { cat "$TMP/out" >&2; fail "register $u"; }
  zc "$u" login "$u" >"$TMP/out" 2>&1 || { cat "$TMP/out" >&2; fail "login $u"; }
done
zc alice create '#ha' --desc "HA e2e" >"$TMP/out" 2>&1 || { cat "$TMP/out" >&2; fail "create #ha"; }
for u in "${CLIENTS[@]}"; do zc "$u" join '#ha' >/dev/null 2>&1 || true; done
out="$(zc dave --first2 channels 2>&1)" || fail "channels as dave (broker 2 first): $out"
grep -q ha <<<"$out" || fail "channels does not list #ha: $out"
ok "four users registered, #ha created and joined (through both brokers)"

: >"$TMP/sent.tsv"
ZCHAT_HOME="$TMP/home-bob" ZCHAT_PASSWORD="$PASSWORD" ZCHAT_SERVER_KEY="$SERVER_KEY" \
  "$ZCHAT" --broker "$B1,$B2" --proxy "$P1,$P2" tail '#ha' --json >"$TMP/tail.out" 2>"$TMP/tail.err" &
TAIL_PID=$!
start=$(date +%s); n=0
until grep -q 'ha-warmup' "$TMP/tail.out" 2>/dev/null; do
  kill -0 "$TAIL_PID" 2>/dev/null || fail "zchat tail exited: $(tail -5 "$TMP/tail.err" | tr '\n' ' ')"
  [ $(( $(date +%s) - start )) -lt 30 ] || fail "zchat tail received nothing within 30s"
  n=$((n + 1)); printf 'ha-warmup-%s\n' "$n" >>"$TMP/sent.tsv"
  zc alice send '#ha' "ha-warmup-$n" >/dev/null 2>&1 || true
  sleep 1
done
ok "tail over both proxies is live"

# ============================================================== 3. posting under faults
# poster USER [--first2]: POSTS sends, one at a time; each text goes to sent-USER before
# the send and to acked-USER once zchat acknowledged it.
poster() {
  local user="$1" order="${2:-}" i text
  : >"$TMP/acked-$user"; : >"$TMP/sent-$user"
  for i in $(seq 1 "$POSTS"); do
    text="ha-$user-$i-$RANDOM"
    printf '%s\n' "$text" >>"$TMP/sent-$user"
    # shellcheck disable=SC2086
    if ZC_TIMEOUT=60 zc "$user" $order send '#ha' "$text" >>"$TMP/poster-$user.log" 2>&1; then
      printf '%s\n' "$text" >>"$TMP/acked-$user"
    else
      printf 'not acknowledged: %s\n' "$text" >>"$TMP/poster-$user.log"
    fi
  done
}
for k in "${!CLIENTS[@]}"; do
  u="${CLIENTS[$k]}"
  if [ $((k % 2)) = 1 ]; then poster "$u" --first2 & else poster "$u" & fi
  POSTER_PIDS+=("$!")
done
acked_count() { cat "$TMP"/acked-* 2>/dev/null | wc -l; }
posters_running() { local p; for p in "${POSTER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
# progress N: wait until N more sends were acknowledged (or the posters are done).
progress() {
  local want=$(( $(acked_count) + $1 )) start; start=$(date +%s)
  while [ "$(acked_count)" -lt "$want" ] && posters_running; do
    [ $(( $(date +%s) - start )) -lt 90 ] || fail "no progress: $(acked_count) acknowledged, waiting for $want"
    sleep 0.2
  done
}
# fault SERVICE: docker kill it while posts go on, see posts acknowledged without it,
# docker start it again, wait until healthy, see posts acknowledged again.
fault() {
  local svc="$1" id t; id="$(cid "$svc")"
  [ -n "$id" ] || fail "no container for $svc"
  progress 4
  t=$(date +%s)
  docker kill "$id" >/dev/null || fail "docker kill $svc"
  log "killed $svc ($(acked_count) acknowledged so far)"
  progress 8
  log "  posts acknowledged without $svc ($(( $(date +%s) - t ))s after the kill)"
  docker start "$id" >/dev/null || fail "docker start $svc"
  wait_healthy "$svc" 120
  progress 4
  ok "$svc killed and started again (healthy, posts acknowledged, $(( $(date +%s) - t ))s)"
}
fault server
fault broker
fault proxy
fault server2

for p in "${POSTER_PIDS[@]}"; do
  wait "$p" || true
done
POSTER_PIDS=()
wait_all 120
ok "posting done: $(acked_count) of $(( POSTS * ${#CLIENTS[@]} )) acknowledged"

# ============================================================== 4. checks
cat "$TMP"/sent-* >>"$TMP/sent.tsv"
cat "$TMP"/acked-* >"$TMP/acked.all"
# history, paged by --after
: >"$TMP/history.out"
after=0
while :; do
  zc carol history '#ha' --limit 500 --after "$after" --json >"$TMP/page.out" 2>"$TMP/history.err" \
    || { cat "$TMP/history.err" >&2; fail "zchat history #ha --after $after failed"; }
  rows=$(grep -c . "$TMP/page.out" || true)
  cat "$TMP/page.out" >>"$TMP/history.out"
  [ "$rows" -ge 500 ] || break
  after="$(tail -1 "$TMP/page.out" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["seq"])')"
done

# Wait (bounded) until the tail has shown every acknowledged message.
start=$(date +%s)
until python3 - "$TMP/tail.out" "$TMP/acked.all" <<'PY'
import json, sys
shown = set()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        shown.add(json.loads(line)["text"])
    except (ValueError, KeyError):
        pass
sys.exit(0 if all(l.strip() in shown for l in open(sys.argv[2]) if l.strip()) else 1)
PY
do
  kill -0 "$TAIL_PID" 2>/dev/null || fail "zchat tail exited: $(tail -5 "$TMP/tail.err" | tr '\n' ' ')"
  [ $(( $(date +%s) - start )) -lt 60 ] || break   # the final check explains what is missing
  sleep 0.5
done
stop_pid "$TAIL_PID"; TAIL_PID=""

msg="$(python3 - "$TMP/history.out" "$TMP/tail.out" "$TMP/acked.all" "$TMP/sent.tsv" "$POSTS" "${#CLIENTS[@]}" <<'PY'
import json, sys
hist_p, tail_p, acked_p, sent_p, posts, clients = sys.argv[1:7]
total = int(posts) * int(clients)
acked = [l.strip() for l in open(acked_p, encoding="utf-8") if l.strip()]
sent = {l.strip() for l in open(sent_p, encoding="utf-8") if l.strip()}
errs = []
ratio = len(acked) / total if total else 0
if ratio < 0.99:
    errs.append(f"only {len(acked)} of {total} sends acknowledged ({ratio:.1%} < 99 %)")
hist = [json.loads(l) for l in open(hist_p, encoding="utf-8") if l.strip()]
texts = [h.get("text") for h in hist]
for t in acked:
    if texts.count(t) != 1:
        errs.append(f"history holds {texts.count(t)} copies of acknowledged {t!r}")
for t in set(texts):
    if t not in sent:
        errs.append(f"history holds a message nobody sent: {t!r}")
seqs = [h.get("seq") for h in hist]
if seqs and seqs != list(range(seqs[0], seqs[0] + len(seqs))):
    gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1][:10]
    errs.append(f"history seqs are not gap-free: first breaks {gaps}")
tail = []
for line in open(tail_p, encoding="utf-8", errors="replace"):
    try:
        tail.append(json.loads(line))
    except ValueError:
        pass
shown = {}
for o in tail:
    shown.setdefault(o.get("text"), []).append(o.get("seq"))
for t in acked:
    n = len(shown.get(t, []))
    if n != 1:
        errs.append(f"the tail showed acknowledged {t!r} {n} times")
tseqs = [o.get("seq") for o in tail]
if any(b <= a for a, b in zip(tseqs, tseqs[1:])):
    errs.append("the tail's seqs are not strictly increasing")
if errs:
    print("\n".join(errs[:40]))
    sys.exit(1)
print(f"{len(acked)}/{total} acknowledged ({ratio:.1%}); history: {len(hist)} messages, seqs "
      f"{seqs[0] if seqs else '-'}..{seqs[-1] if seqs else '-'} gap-free, each acknowledged one once; "
      f"tail: each acknowledged one once, in seq order")
PY
)" || { printf '%s\n' "$msg" >&2; fail "failover checks"; }
ok "$msg"

# ============================================================== 5. down -v
dc down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || fail "docker compose down -v"
left="$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")"
[ -z "$left" ] || fail "down -v left containers/volumes: $left"
ok "down -v removed every container and volume"
FAILED=0
