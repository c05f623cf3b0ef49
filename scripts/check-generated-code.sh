#!/usr/bin/env bash
# Regenerates the API code into a scratch folder and fails if it differs from the committed code.
# Usage: scripts/check-generated-code.sh PLUGIN_BIN_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$root/scripts/generate-proto.sh" "$scratch" "$1"
if ! diff -r "$scratch" "$root/Sources/OrchionAPI" --exclude='*.md'; then
  echo "Sources/OrchionAPI is stale: run 'make proto' and commit the result." >&2
  exit 1
fi
echo "generated code is current"
