#!/usr/bin/env bash
# Runs dispatch, latency and `nodes --count 3000` against the release binaries in DIR/bin
# (orchion, orchion-bench), each on a fresh cluster of one server and two agents.
# To compare two commits, build each with `make bench`, copy its bin/ aside, and alternate:
#   scripts/bench-compare.sh /tmp/before before1; scripts/bench-compare.sh /tmp/after after1; …
set -u
dir=$1
label=$2
port=${PORT:-50661}
work=/tmp/orchion-bench-$label
cd "$dir"
ORCHION_TOKEN=$(openssl rand -hex 20)
export ORCHION_TOKEN ORCHION_CONFIG=$work/config
rm -rf "$work" && mkdir -p "$work"
bin/orchion server --data-dir "$work/server" --port "$port" >"$work/server.log" 2>&1 &
server=$!
sleep 2
bin/orchion agent --server "127.0.0.1:$port" --id a --data-dir "$work/a" >/dev/null 2>&1 &
a=$!
bin/orchion agent --server "127.0.0.1:$port" --id b --data-dir "$work/b" >/dev/null 2>&1 &
b=$!
sleep 3
echo "== $label"
bin/orchion-bench dispatch --server "127.0.0.1:$port" --count 1000 2>&1 | tail -1
bin/orchion-bench latency --server "127.0.0.1:$port" --count 1000 2>&1 | tail -2
kill $a $b
wait $a $b 2>/dev/null
if [ -z "${SKIP_NODES:-}" ]; then
  bin/orchion-bench nodes --server "127.0.0.1:$port" --count 3000 --duration 20s \
    --server-pid $server 2>&1 | tail -2
fi
kill $server
wait $server 2>/dev/null
