#!/usr/bin/env bash
# Real servers for the test suite, on loopback only: PostgreSQL, Azurite (Azure Blob emulator) and a
# MongoDB wire-protocol server (SecantusDB, which embeds WiredTiger; GPL, so it lives in its own venv
# and is never a dependency of the project).
#
#   source scripts/services.sh             # starts all, exports the URIs, stops them on EXIT
#   scripts/services.sh CMD [ARGS]         # starts all, runs CMD with the URIs set, stops all
#
# The test suite needs no Docker engine: PostgreSQL comes from the system's packages (installed
# with apt-get when missing), Azurite from npm, and the MongoDB stand-in from PyPI into a venv of
# its own. SecantusDB is a faithful MongoDB wire-protocol server used for tests only; it is GPL,
# so it runs as a separate process and is never a dependency of Genesis-Flow.
#
# Exports:
#   GENESIS_TEST_SQL_POSTGRES_URI             postgresql+psycopg://postgres@127.0.0.1:PORT/genesis
#   GENESIS_TEST_MONGO_URI                    mongodb://127.0.0.1:PORT/
#   GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING Azurite's development-account connection string
# Each call gets its own data directory and free ports, so two runs side by side do not collide.
# Installs (Azurite, SecantusDB) are cached in $GENESIS_SERVICES_CACHE and reused.
# Set GENESIS_SERVICES=postgres,azurite,mongo (any subset) to start fewer. If you source this file and
# need an EXIT trap of your own, call genesis_services_stop from it.

set -euo pipefail

GENESIS_SERVICES="${GENESIS_SERVICES:-postgres,azurite,mongo}"
GENESIS_SERVICES_CACHE="${GENESIS_SERVICES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/genesis-services}"
AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"  # 3.36+ needs Node >= 22
SECANTUS_VERSION="${SECANTUS_VERSION:-0.7.0b3}"

_want() { case ",$GENESIS_SERVICES," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# The postgres user must be able to reach the data directory, so it lives under a world-traversable tmp.
SVC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/genesis-services.XXXXXX"); chmod 755 "$SVC_DIR"; mkdir -p "$SVC_DIR/log"
mkdir -p "$GENESIS_SERVICES_CACHE"
_GENESIS_PIDS=""

genesis_services_stop() {
  local pid
  for pid in $_GENESIS_PIDS; do kill -0 "$pid" 2>/dev/null && kill -INT "$pid" 2>/dev/null || true; done
  for pid in $_GENESIS_PIDS; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  _GENESIS_PIDS=""
  rm -rf "$SVC_DIR"
}

_wait_ready() {  # NAME PID LOG CMD...   polls for up to 60 s
  local name=$1 pid=$2 log=$3; shift 3
  for _ in $(seq 1 600); do
    if "$@" >/dev/null 2>&1; then echo "services: $name ready"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "services: $name died:"; cat "$log"; return 1; fi
    sleep 0.1
  done
  echo "services: $name not ready after 60 s:"; cat "$log"; return 1
}

if _want postgres; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  PGBIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n1)")
  PG_PORT=$(_free_port)
  install -d -o postgres -g postgres -m 700 "$SVC_DIR/pgdata" "$SVC_DIR/pgsock"
  setpriv --reuid=postgres --regid=postgres --init-groups \
    "$PGBIN/initdb" -D "$SVC_DIR/pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$SVC_DIR/log/initdb.log" 2>&1
  # Test server: durability off for speed (never do this in production).
  setpriv --reuid=postgres --regid=postgres --init-groups \
    "$PGBIN/postgres" -D "$SVC_DIR/pgdata" -p "$PG_PORT" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$SVC_DIR/pgsock" -c max_connections=200 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    >"$SVC_DIR/log/postgres.log" 2>&1 &
  _PG_PID=$!; _GENESIS_PIDS="$_GENESIS_PIDS $_PG_PID"
fi

if _want azurite; then
  if [ ! -x "$GENESIS_SERVICES_CACHE/azurite-$AZURITE_VERSION/node_modules/.bin/azurite-blob" ]; then
    npm install --prefix "$GENESIS_SERVICES_CACHE/azurite-$AZURITE_VERSION" --no-audit --no-fund \
      --loglevel=error "azurite@$AZURITE_VERSION" >"$SVC_DIR/log/azurite-install.log" 2>&1 \
      || { cat "$SVC_DIR/log/azurite-install.log"; exit 1; }
  fi
  AZURITE_PORT=$(_free_port)
  "$GENESIS_SERVICES_CACHE/azurite-$AZURITE_VERSION/node_modules/.bin/azurite-blob" \
    --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" \
    --inMemoryPersistence --skipApiVersionCheck --loose --disableTelemetry --silent \
    >"$SVC_DIR/log/azurite.log" 2>&1 &
  _AZ_PID=$!; _GENESIS_PIDS="$_GENESIS_PIDS $_AZ_PID"
fi

if _want mongo; then
  MONGO_VENV="$GENESIS_SERVICES_CACHE/secantus-$SECANTUS_VERSION"
  if [ ! -x "$MONGO_VENV/bin/secantusd-py" ]; then
    rm -rf "$MONGO_VENV"; python3 -m venv "$MONGO_VENV"
    "$MONGO_VENV/bin/python" -m pip install --disable-pip-version-check "SecantusDB==$SECANTUS_VERSION" \
      >"$SVC_DIR/log/mongo-install.log" 2>&1 || { cat "$SVC_DIR/log/mongo-install.log"; exit 1; }
  fi
  MONGO_PORT=$(_free_port)
  "$MONGO_VENV/bin/secantusd-py" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path :memory: \
    >"$SVC_DIR/log/mongo.log" 2>&1 &
  _MONGO_PID=$!; _GENESIS_PIDS="$_GENESIS_PIDS $_MONGO_PID"
fi

if _want postgres; then
  _wait_ready postgres "$_PG_PID" "$SVC_DIR/log/postgres.log" \
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres
  "$PGBIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE genesis"
  export GENESIS_TEST_SQL_POSTGRES_URI="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/genesis"
fi
if _want azurite; then
  _wait_ready azurite "$_AZ_PID" "$SVC_DIR/log/azurite.log" \
    curl -s -o /dev/null "http://127.0.0.1:$AZURITE_PORT/devstoreaccount1?comp=list"
  export GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$AZURITE_PORT/devstoreaccount1;"
fi
if _want mongo; then
  _wait_ready mongo "$_MONGO_PID" "$SVC_DIR/log/mongo.log" \
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $MONGO_PORT), 1).close()"
  export GENESIS_TEST_MONGO_URI="mongodb://127.0.0.1:$MONGO_PORT/"
fi

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  trap genesis_services_stop EXIT   # sourced: stop with the calling script
elif [ "$#" -gt 0 ]; then
  set +e; "$@"; _rc=$?; genesis_services_stop; exit "$_rc"
else
  echo "usage: source ${0##*/}   or   ${0##*/} CMD [ARGS...]" >&2; genesis_services_stop; exit 2
fi
