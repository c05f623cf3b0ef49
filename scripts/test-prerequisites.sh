#!/usr/bin/env bash
# Installs what `make test` needs and a fresh machine lacks, then says where the test Python is.
#
# - Debian packages (the one list: below): installed with apt-get when this runs as root or
#   with passwordless sudo; otherwise it stops, printing the exact command to run.
# - Python packages (the one list: Tests/Interop/requirements.txt): installed into the
#   project-local virtual environment .venv-test (git-ignored), never into the system's Python.
#   `make test` puts .venv-test/bin first on the tests' PATH.
# Idempotent and quick once done: a stamp records which requirements the environment holds.
set -euo pipefail
cd "$(dirname "$0")/.."

# protobuf-compiler, libprotobuf-dev, grpc-proto: the generated-code check (make check-proto).
# libsqlite3-dev: the embedded store. postgresql, openssl: the store and failover tests run
# against a real server with TLS (scripts/test-postgres.sh). strace: the durability test
# watches the orchestrator fsync. git: the workspace tests. systemd: systemd-analyze verifies
# the agent's unit. python3-venv: .venv-test on a Debian Python. chromium, chromium-driver: the
# dashboard's tests drive a real headless browser. prometheus: promtool checks /metrics and a
# real Prometheus scrapes it. libcurl4-openssl-dev: the self-contained link of orchion
# (FoundationNetworking, which the MCP SDK references, links the system's libcurl).
packages=(protobuf-compiler libprotobuf-dev grpc-proto libsqlite3-dev postgresql strace openssl git systemd python3-venv chromium chromium-driver prometheus libcurl4-openssl-dev)

missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
# A Python that brings its own venv (pyenv, a virtualenv) does not need Debian's.
if [[ " ${missing[*]-} " == *" python3-venv "* ]] && python3 -c 'import ensurepip, venv' 2>/dev/null; then
  missing=("${missing[@]/python3-venv/}")
  read -r -a missing <<<"${missing[*]}"
fi
if ((${#missing[@]})); then
  if [[ "$(id -u)" == 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo)
  else
    echo "make test needs these Debian packages: ${missing[*]}" >&2
    echo "install them, then run make test again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

venv=.venv-test
requirements=Tests/Interop/requirements.txt
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python3" ]] || ! cmp -s "$requirements" "$stamp"; then
  echo "preparing $venv with $(grep -v '^#' "$requirements" | tr '\n' ' ')" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
