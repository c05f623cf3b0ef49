#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the tests on 127.0.0.1 (port $ORCHION_TEST_POSTGRES_PORT,
# default 55432), unless one already answers there. Idempotent: `make test` runs it every time.
# Needs Debian's postgresql package (apt-get install postgresql); trust authentication, loopback
# only, data in $ORCHION_TEST_POSTGRES_DIR (default /tmp/orchion-test-postgres).
# The tests reach it as postgres://orchion@127.0.0.1:55432/orchion (ORCHION_TEST_POSTGRES).
set -euo pipefail
port="${ORCHION_TEST_POSTGRES_PORT:-55432}"
dir="${ORCHION_TEST_POSTGRES_DIR:-/tmp/orchion-test-postgres}"

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [[ -z "$bin" || ! -x "$bin/pg_ctl" ]]; then
  echo "PostgreSQL is not installed; the store tests need it: apt-get install postgresql" >&2
  exit 1
fi
if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  exit 0
fi

# initdb and the server refuse to run as root: use the postgres account then.
as=()
if [[ "$(id -u)" == 0 ]]; then
  as=(runuser -u postgres --)
fi
if [[ ! -f "$dir/PG_VERSION" ]]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  if [[ "$(id -u)" == 0 ]]; then chown postgres "$dir"; fi
  "${as[@]}" "$bin/initdb" -D "$dir" -U orchion --auth=trust --no-sync >/dev/null
fi
"${as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300" start >/dev/null
"$bin/createdb" -h 127.0.0.1 -p "$port" -U orchion orchion 2>/dev/null || true
echo "PostgreSQL for the tests: postgres://orchion@127.0.0.1:$port/orchion"
