#!/usr/bin/env bash
# Generates Swift code for api/**/*.proto and grpc.health.v1 into the directory given.
# Usage: scripts/generate-proto.sh OUTPUT_DIR PLUGIN_BIN_DIR
set -euo pipefail
out="$1"
bin="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
health_root=/usr/share/grpc-proto
if [[ ! -f "$health_root/grpc/health/v1/health.proto" ]]; then
  echo "missing $health_root/grpc/health/v1/health.proto: apt-get install grpc-proto" >&2
  exit 1
fi
mkdir -p "$out"
rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
cd "$root"
protos=(api/orchion/v1/*.proto)
relative=("${protos[@]#api/}")
common=(
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift"
  --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2"
  --swift_opt=Visibility=Public,FileNaming=PathToUnderscores
  --grpc-swift-2_opt=Visibility=Public,FileNaming=PathToUnderscores,Server=true,Client=true
  --swift_out="$out"
  --grpc-swift-2_out="$out"
)
protoc -I api "${common[@]}" "${relative[@]}"
protoc -I "$health_root" "${common[@]}" grpc/health/v1/health.proto
