import Foundation
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

@Suite("orchion-bench", .serialized, .timeLimit(.minutes(2)))
struct BenchCommandTests {
  @Test(
    "`orchion-bench nodes` connects simulated nodes over the agent protocol and reports their heartbeats"
  )
  func simulatedNodes() async throws {
    try await Cluster.with { cluster in
      let bench = try await cluster.orchionBench([
        "nodes", "--count", "20", "--rate", "5", "--duration", "1s", "--connections", "3",
        "--server-pid", "\(cluster.server.pid)",
      ])
      #expect(bench.status == 0, "\(bench.stderr)")
      #expect(bench.stdout.contains("nodes: 20/20 connected"), "\(bench.stdout)")
      #expect(bench.stdout.contains("no errors"), "\(bench.stdout)")
      #expect(bench.stdout.contains("orchestrator: RSS"), "\(bench.stdout)")
      // Heartbeats flow in the measured second (how many is the benchmark's figure, not the
      // test's), and each is acknowledged but perhaps a node's last, in flight as its stream
      // closes.
      let counted = bench.stdout.firstMatch(of: /(\d+) heartbeats sent, (\d+) acknowledged/)
      let sent = try #require(counted.flatMap { Int($0.1) }, "\(bench.stdout)")
      let acknowledged = try #require(counted.flatMap { Int($0.2) }, "\(bench.stdout)")
      #expect(sent > 0, "\(bench.stdout)")
      #expect(acknowledged <= sent && acknowledged >= sent - 20, "\(bench.stdout)")
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        // Unregistered when the bench ends: removed, nothing left behind.
        let nodes = try await client.nodes.listNodes(.init()).nodes
        #expect(nodes.isEmpty, "\(nodes.map(\.id))")
      }
    }
  }

  @Test(
    "`orchion-bench failover` kills (or freezes) the agent running a task and times its move to the other",
    arguments: ["kill", "freeze"]
  )
  func failover(mode: String) async throws {
    let bench = try ChildProcess(
      BuiltProducts.orchionBench,
      ["failover", "--mode", mode, "--runs", "1"],
      environment: ["ORCHION_TOKEN": ""]
    )
    #expect(try await bench.waitForExit(timeout: .seconds(90)) == 0, "\(bench.standardError)")
    // One agent ran it, the other got it: the move is between two different nodes.
    let moved = bench.standardOutput.split(separator: "\n").first { $0.contains(" moved ") }
    #expect(
      moved?.contains("bench-a → bench-b") == true || moved?.contains("bench-b → bench-a") == true,
      "\(bench.standardOutput)"
    )
    #expect(
      bench.standardOutput.contains(
        "failover (\(mode), heartbeat-timeout 1s, lost-after 1s): median"
      )
    )
  }

  @Test("`orchion-bench footprint` times `orchion up` to its first RPC and reads idle memory")
  func footprint() async throws {
    let bench = try ChildProcess(
      BuiltProducts.orchionBench,
      ["footprint", "--runs", "1", "--idle", "200ms"],
      environment: ["ORCHION_TOKEN": ""]
    )
    #expect(try await bench.waitForExit(timeout: .seconds(90)) == 0, "\(bench.standardError)")
    #expect(bench.standardOutput.contains("orchion up: first RPC served after"))
    #expect(bench.standardOutput.contains("idle RSS: orchestrator"))
  }

  @Test("`orchion-bench group` runs one group over agents of its own and reports its submit time and throughput")
  func group() async throws {
    let bench = try ChildProcess(
      BuiltProducts.orchionBench,
      ["group", "--members", "40", "--agents", "2", "--slots", "4"],
      environment: ["ORCHION_TOKEN": ""]
    )
    #expect(try await bench.waitForExit(timeout: .seconds(120)) == 0, "\(bench.standardError)")
    #expect(bench.standardOutput.contains("group: 40 members over 2 agents: submitted (all durable) in"), "\(bench.standardOutput)")
    #expect(bench.standardOutput.contains("40 succeeded"), "\(bench.standardOutput)")
  }

  @Test(
    "`orchion-bench chatty` runs a task printing N lines over a real agent and reports the orchestrator's CPU per 1,000 chunks"
  )
  func chatty() async throws {
    let bench = try ChildProcess(
      BuiltProducts.orchionBench,
      ["chatty", "--lines", "2000"],
      environment: ["ORCHION_TOKEN": ""]
    )
    #expect(try await bench.waitForExit(timeout: .seconds(90)) == 0, "\(bench.standardError)")
    let report = bench.standardOutput.firstMatch(
      of:
        /chatty run 1: 2000 lines in (\d+) chunks, .* orchestrator CPU (\d+) ms = [0-9.]+ ms per 1,000 chunks/
    )
    let chunks = try #require(report.flatMap { Int($0.1) }, "\(bench.standardOutput)")
    // Every line was written on its own; the agent may read several at once, never none.
    #expect((1...2000).contains(chunks), "\(bench.standardOutput)")
  }

  @Test("`orchion-bench scheduler` reports placements per strategy")
  func scheduler() async throws {
    let bench = try ChildProcess(
      BuiltProducts.orchionBench,
      ["scheduler", "--nodes", "50", "--tasks", "500", "--runs", "1"]
    )
    #expect(try await bench.waitForExit() == 0)
    for strategy in ["binpack", "spread", "round-robin"] {
      #expect(bench.standardOutput.contains(strategy), "\(bench.standardOutput)")
    }
    #expect(bench.standardOutput.contains("placements/s"))
  }

  @Test(
    "`orchion-bench submit` submits from several clients and every task it reports is in the store"
  )
  func submit() async throws {
    try await Cluster.with { cluster in
      let bench = try await cluster.orchionBench(["submit", "--count", "60", "--clients", "4"])
      #expect(bench.status == 0, "\(bench.stderr)")
      #expect(
        bench.stdout.contains("submit: 60 durable submits from 4 client(s)"),
        "\(bench.stdout)"
      )
      try await cluster.restartServer()
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let tasks = try await client.tasks.listTasks(.with { $0.pageSize = 1000 }).tasks
        #expect(tasks.count == 60)
      }
    }
  }
}
