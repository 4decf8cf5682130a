#!/bin/sh
# Entrypoint of zchat-postgres (docker/postgres.Dockerfile). Runs as the postgres user.
#
# First start (no cluster in $PGDATA): initdb with the superuser $POSTGRES_USER, whose
# password is $POSTGRES_PASSWORD or the first line of the file $POSTGRES_PASSWORD_FILE (one
# of them is required); create the database $POSTGRES_DB; allow scram-sha-256 password logins
# over TCP from anywhere (the compose network: it is not published to the host), trust on
# the container's own unix socket. Later starts: the password and settings in the volume
# stay as they are (changing the env does not change the password).
# Then: exec postgres, listening on every interface of the container, extra arguments
# passed on (e.g. `-c max_connections=300`).
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=zchat}"
: "${POSTGRES_DB:=zchat}"
SOCK=/var/run/postgresql
log() { echo "zchat-postgres: $*" >&2; }

if [ "$(id -u)" = 0 ]; then
  log "refusing to run as root (the image's user is postgres)"; exit 1
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    [ -r "$POSTGRES_PASSWORD_FILE" ] || { log "POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE is not readable"; exit 1; }
    POSTGRES_PASSWORD="$(head -n1 "$POSTGRES_PASSWORD_FILE")"
  fi
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    log "no cluster in $PGDATA yet, and no password to create it with: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE"
    exit 1
  fi
  case "$POSTGRES_USER$POSTGRES_DB" in
    *[!A-Za-z0-9_]*) log "POSTGRES_USER and POSTGRES_DB must be made of letters, digits and _"; exit 1 ;;
  esac
  log "initialising a new cluster in $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  {
    echo "# zchat-postgres: password logins from the container network"
    echo "host all all 0.0.0.0/0 scram-sha-256"
    echo "host all all ::/0 scram-sha-256"
  } >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # A private server (unix socket only) to create the database, then a clean stop.
    pg_ctl -D "$PGDATA" -w -t 60 -o "-c listen_addresses='' -k $SOCK" start >/dev/null
    psql -v ON_ERROR_STOP=1 -q -h "$SOCK" -U "$POSTGRES_USER" -d postgres \
      -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
    pg_ctl -D "$PGDATA" -w -t 60 -m fast stop >/dev/null
  fi
  log "cluster ready"
fi

exec postgres -D "$PGDATA" -k "$SOCK" -c listen_addresses='*' "$@"
