#!/usr/bin/env bash
# Make sure the test suite's PostgreSQL and Redis are installed, running on loopback, and
# that the test role exists. Safe to run again: it only does what is missing.
#
# Installs with apt as root (or through sudo) when a server is missing; otherwise says what
# to install. Servers are started detached (pg_ctlcluster / redis --daemonize), so they
# outlive this script.
set -euo pipefail

DB_URL=${TEST_DATABASE_URL:-postgres://haven:haven@127.0.0.1:5432/haven}
REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}

# postgres://user:password@host:port/name
pg_rest=${DB_URL#*://}
PG_USER=${pg_rest%%:*}
pg_rest=${pg_rest#*:}
PG_PASSWORD=${pg_rest%%@*}
pg_rest=${pg_rest#*@}
PG_HOST=${pg_rest%%:*}
pg_rest=${pg_rest#*:}
PG_PORT=${pg_rest%%/*}
redis_rest=${REDIS_URL#*://}
redis_rest=${redis_rest%%/*}
REDIS_HOST=${redis_rest%%:*}
REDIS_PORT=${redis_rest#*:}

say() { printf '[services] %s\n' "$*"; }

# shellcheck source=tests/apt.sh
source "$(dirname "$0")/apt.sh"

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/sh -c "$*"
  else
    sudo -n -u postgres sh -c "$*"
  fi
}

pg_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
  else
    (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
  fi
}

redis_ready() {
  command -v redis-cli >/dev/null 2>&1 &&
    [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
}

install_missing() {
  local packages=()
  if ! pg_ready && [ -z "$(pg_bin_dir)" ]; then packages+=(postgresql); fi
  if ! redis_ready && ! command -v redis-server >/dev/null 2>&1; then packages+=(redis-server); fi
  [ ${#packages[@]} -eq 0 ] && return 0
  apt_install "and start: ${packages[*]} (PostgreSQL 15+ and Redis 7+)" "${packages[@]}"
}

start_postgres() {
  pg_ready && return 0
  local bin version
  bin=$(pg_bin_dir)
  version=$(basename "$(dirname "$bin")")
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$version main$"; then
      say "creating PostgreSQL $version cluster"
      as_root pg_createcluster "$version" main -p "$PG_PORT" >/dev/null
    fi
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster "$version" main start
  else
    local data=${PGDATA:-/var/lib/postgresql/haven-test}
    as_root mkdir -p "$data"
    as_root chown postgres "$data"
    [ -f "$data/PG_VERSION" ] || as_postgres "$bin/initdb -D $data -A scram-sha-256 --auth-local=peer -U postgres" >/dev/null
    as_root mkdir -p /var/run/postgresql
    as_root chown postgres /var/run/postgresql
    as_postgres "setsid $bin/pg_ctl -D $data -o '-p $PG_PORT -k /var/run/postgresql -c listen_addresses=$PG_HOST' -l $data/server.log start" >/dev/null
  fi
  for _ in $(seq 1 30); do pg_ready && return 0; sleep 0.5; done
  say "PostgreSQL did not start on $PG_HOST:$PG_PORT"
  exit 1
}

ensure_role() {
  if PGPASSWORD="$PG_PASSWORD" psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
    -tAc "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user" 2>/dev/null | grep -q t; then
    return 0
  fi
  local exists
  exists=$(as_postgres "psql -p $PG_PORT -tAc \"SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'\"") || {
    say "Cannot reach PostgreSQL as the postgres user to create the test role."
    say "Create it yourself: CREATE ROLE $PG_USER LOGIN PASSWORD '...' CREATEDB; and set TEST_DATABASE_URL."
    exit 1
  }
  if [ "$exists" = "1" ]; then
    # Never change someone's existing role: say what is wrong instead.
    say "The role $PG_USER exists but cannot sign in with the password in TEST_DATABASE_URL,"
    say "or lacks CREATEDB. Set TEST_DATABASE_URL to a role that can create databases."
    exit 1
  fi
  say "creating the test role $PG_USER (LOGIN CREATEDB)"
  as_postgres "psql -p $PG_PORT -v ON_ERROR_STOP=1 -q -c \"CREATE ROLE \\\"$PG_USER\\\" LOGIN PASSWORD '$PG_PASSWORD' CREATEDB\""
}

start_redis() {
  redis_ready && return 0
  say "starting Redis on $REDIS_HOST:$REDIS_PORT"
  redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" \
    --save '' --appendonly no --logfile /tmp/haven-test-redis.log
  for _ in $(seq 1 30); do redis_ready && return 0; sleep 0.2; done
  say "Redis did not start on $REDIS_HOST:$REDIS_PORT"
  exit 1
}

install_missing
start_postgres
ensure_role
start_redis
say "PostgreSQL on $PG_HOST:$PG_PORT (role $PG_USER) and Redis on $REDIS_HOST:$REDIS_PORT are ready."
