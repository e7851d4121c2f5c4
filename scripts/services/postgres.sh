#!/usr/bin/env bash
# Starts (or reuses) a throwaway PostgreSQL 15 cluster on 127.0.0.1 in its own data directory.
# Usage: postgres.sh start DIR PORT PASSWORD | stop DIR
# Uses the machine's postgresql-15 binaries; as root it runs the server as the "postgres" system user.
set -euo pipefail

PGBIN="${IGBACKUP_PGBIN:-/usr/lib/postgresql/15/bin}"
cmd="${1:-}"; dir="${2:-}"; port="${3:-55432}"; password="${4:-}"
log() { echo "[postgres] $*" >&2; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_pkgs() {
  [ -x "$PGBIN/initdb" ] && return
  if [ "$(id -u)" != 0 ]; then log "PostgreSQL 15 server binaries not found in $PGBIN (apt-get install postgresql-15)"; exit 1; fi
  log "installing postgresql-15 (Debian packages)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-client-15 >/dev/null
}

case "$cmd" in
  start)
    [ -n "$dir" ] || { echo "usage: $0 start DIR PORT PASSWORD" >&2; exit 2; }
    install_pkgs
    if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; then log "already running on 127.0.0.1:$port"; exit 0; fi
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      pwfile="$dir/.pw"
      printf '%s\n' "$password" > "$pwfile"
      [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
      chmod 600 "$pwfile"
      as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres --pwfile="$pwfile" --auth=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
      rm -f "$pwfile"
      cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 256MB
maintenance_work_mem = 256MB
max_wal_size = 4GB
CONF
    fi
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    log "ready on 127.0.0.1:$port (data $dir/data)"
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *) echo "usage: $0 start DIR PORT PASSWORD | stop DIR" >&2; exit 2 ;;
esac
