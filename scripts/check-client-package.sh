#!/usr/bin/env bash
# Builds a throwaway package that depends on this one by path and uses the OrchionClient
# library the way a program outside this repository would: an undeclared import inside the
# library, or a public type a user cannot reach, fails here and not in a user's build.
# The throwaway's build directory is kept (.build-client-check, git-ignored) so reruns are
# incremental.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
package="$root/.build-client-check/package"
mkdir -p "$package/Sources/ClientCheck"
cat > "$package/Package.swift" <<SWIFT
// swift-tools-version:6.1
import PackageDescription

let package = Package(
  name: "orchion-client-check",
  platforms: [.macOS(.v15)],
  dependencies: [.package(name: "orchion", path: "$root")],
  targets: [
    .executableTarget(
      name: "ClientCheck",
      dependencies: [.product(name: "OrchionClient", package: "orchion")],
      swiftSettings: [.swiftLanguageMode(.v6)]
    )
  ]
)
SWIFT
cat > "$package/Sources/ClientCheck/main.swift" <<'SWIFT'
import OrchionClient

// What a user writes first: connect, submit, wait, read the output. Compiled, not run.
func submitAndWait() async throws {
  try await withOrchionClient(server: ServerAddress(host: "127.0.0.1", port: 50051)) { client in
    let task = try await client.tasks.submitTask(
      .with { $0.spec = .with { $0.command = ["echo", "hello"] } }
    ).task
    let done = try await client.tasks.getTask(.with { $0.taskID = task.id }).task
    print(done.state, done.termination, done.exitCode)
    let nodes = try await client.nodes.listNodes(.init()).nodes
    print(nodes.map(\.id))
  }
}

if CommandLine.arguments.count > 1 { try await submitAndWait() }
SWIFT
cd "$package"
# The import check fails a target that imports a module it does not declare.
swift build --scratch-path "$root/.build-client-check/build" --product ClientCheck \
  --explicit-target-dependency-import-check error
