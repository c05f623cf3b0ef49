#!/usr/bin/env bash
# Runs a command (the test suite) and fails if it changed anything under $HOME/.orchion: tests
# must give every server, agent and CLI they start a home and data dir of their own, never the
# config and keys of the person running them.
set -uo pipefail
watched="${HOME:-/nonexistent}/.orchion"

snapshot() {
  if [[ -e "$watched" ]]; then
    # Path, type, mode, size, modification time and content of everything below it.
    find "$watched" -printf '%P %y %m %s %T@\n' 2>/dev/null | sort
    find "$watched" -type f -exec sha256sum {} + 2>/dev/null | sort
  else
    echo "(absent)"
  fi
}

before=$(snapshot)
"$@"
status=$?
after=$(snapshot)
if [[ "$before" != "$after" ]]; then
  echo "error: the run changed $watched (a test started a process without a home of its own):" >&2
  diff <(echo "$before") <(echo "$after") >&2
  exit 1
fi
exit "$status"
