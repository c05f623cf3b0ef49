#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the tests on 127.0.0.1 (port $ORCHION_TEST_POSTGRES_PORT,
# default 55432), unless one already answers there. Idempotent: `make test` runs it every time.
# Needs Debian's postgresql package (apt-get install postgresql); trust authentication, loopback
# only, data in $ORCHION_TEST_POSTGRES_DIR (default /tmp/orchion-test-postgres).
# The tests reach it as postgres://orchion@127.0.0.1:55432/orchion (ORCHION_TEST_POSTGRES).
# It also serves TLS (ssl = on; plaintext still accepted) with a certificate for 127.0.0.1 and
# localhost from a throwaway CA, kept in $ORCHION_TEST_POSTGRES_TLS_DIR (default
# /tmp/orchion-test-postgres-tls: ca.pem, and other-ca.pem, a CA that signed nothing here), for
# the sslmode tests. A server already running without TLS gets it by a configuration reload.
set -euo pipefail
port="${ORCHION_TEST_POSTGRES_PORT:-55432}"
dir="${ORCHION_TEST_POSTGRES_DIR:-/tmp/orchion-test-postgres}"
tls="${ORCHION_TEST_POSTGRES_TLS_DIR:-/tmp/orchion-test-postgres-tls}"

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [[ -z "$bin" || ! -x "$bin/pg_ctl" ]]; then
  echo "PostgreSQL is not installed; the store tests need it: apt-get install postgresql" >&2
  exit 1
fi

# Made in a scratch directory and renamed into place, so that two runs at once cannot leave
# half of it.
make_certificates() {
  if [[ -f "$tls/server.key" ]]; then return; fi
  local scratch
  scratch="$(mktemp -d "${tls}.XXXXXX")"
  local key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  (
    cd "$scratch"
    openssl req -x509 "${key[@]}" -days 3650 -subj "/CN=orchion test CA" \
      -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -x509 "${key[@]}" -days 3650 -subj "/CN=orchion other CA" \
      -keyout other-ca.key -out other-ca.pem 2>/dev/null
    openssl req "${key[@]}" -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.pem 2>/dev/null
    rm -f ca.key other-ca.key server.csr server.ext ca.srl
    chmod 600 server.key
    if [[ "$(id -u)" == 0 ]]; then chown postgres server.key server.pem; fi
    chmod 755 .
  )
  mv -T "$scratch" "$tls" 2>/dev/null || rm -rf "$scratch"
}

# ssl can be turned on by a reload: the shared server keeps running and keeps its plaintext
# clients.
enable_tls() {
  local psql=("$bin/psql" -h 127.0.0.1 -p "$port" -U orchion -d orchion -Atq)
  if [[ "$("${psql[@]}" -c 'SHOW ssl')" == on ]]; then return; fi
  "${psql[@]}" -c "ALTER SYSTEM SET ssl_cert_file = '$tls/server.pem'" \
    -c "ALTER SYSTEM SET ssl_key_file = '$tls/server.key'" \
    -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 50); do
    if [[ "$("${psql[@]}" -c 'SHOW ssl')" == on ]]; then return; fi
    sleep 0.1
  done
  echo "PostgreSQL for the tests did not turn TLS on; see $dir/server.log" >&2
  exit 1
}

make_certificates
if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  enable_tls
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
enable_tls
echo "PostgreSQL for the tests: postgres://orchion@127.0.0.1:$port/orchion"
