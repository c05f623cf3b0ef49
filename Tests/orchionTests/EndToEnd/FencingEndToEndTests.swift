import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Short liveness windows so that node loss happens within seconds.
private let fastLoss = ["--heartbeat-timeout", "1s", "--lost-after", "1s"]

/// A task that ignores SIGTERM and, until it is killed, appends `<node> <monotonic ns>` to
/// `ledger` every 50 ms: the ledger shows when each copy of it was alive.
private func ledgerTask(_ ledger: String, marker: String) -> [String] {
  [
    "sh", "-c",
    "trap '' TERM; while :; do echo \"$ORCHION_NODE_ID $(cat /proc/uptime | cut -d' ' -f1)\" >> \(ledger); sleep 0.05; : \(marker); done",
  ]
}

/// When each node's copy was first and last seen alive, in seconds since boot.
private func lifetimes(in ledger: String) throws -> [String: ClosedRange<Double>] {
  let text = try String(contentsOfFile: ledger, encoding: .utf8)
  var spans: [String: ClosedRange<Double>] = [:]
  for line in text.split(separator: "\n") {
    let fields = line.split(separator: " ")
    guard fields.count == 2, let time = Double(fields[1]) else { continue }
    let node = String(fields[0])
    let span = spans[node].map { min($0.lowerBound, time)...max($0.upperBound, time) }
    spans[node] = span ?? time...time
  }
  return spans
}

@Suite(
  "End to end: a task never runs twice, and nothing it started outlives it",
  .serialized,
  .timeLimit(.minutes(3))
)
struct FencingEndToEndTests {
  @Test(
    "SIGTERM to the agent: its copy is dead before the replacement starts; the node stays listed DISCONNECTED"
  )
  func gracefulStopBeforeGoodbye() async throws {
    try await Cluster.with { cluster in
      let leaving = try cluster.startAgent("leaving")
      try await cluster.waitForActiveNodes(["leaving"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let ledger = cluster.directory + "/ledger"
        let marker = uniqueMarker()
        let task = try await client.submit(ledgerTask(ledger, marker: marker))
        try await client.waitFor(task.id, state: .running)
        try cluster.startAgent("staying")
        try await cluster.waitForActiveNodes(["leaving", "staying"])

        // It ignores SIGTERM: the agent's 2 s kill grace passes before SIGKILL.
        leaving.signal(SIGTERM)
        #expect(try await leaving.waitForExit() == 0, "\(leaving.standardError)")
        try await eventually(timeout: .seconds(30)) {
          try await client.task(task.id).nodeID == "staying"
            && (try lifetimes(in: ledger)["staying"] != nil)
        }
        let spans = try lifetimes(in: ledger)
        let old = try #require(spans["leaving"])
        let new = try #require(spans["staying"])
        #expect(old.upperBound < new.lowerBound, "the copies overlapped: \(spans)")
        // Handed back by the agent's own report (ahead of its goodbye), without using up an
        // attempt — not found lost with its node.
        let moved = try await client.task(task.id)
        let first = try #require(moved.attempts.first)
        #expect(first.reason.contains("shutting down"), "\(moved.attempts)")

        // The goodbye leaves the node listed, DISCONNECTED.
        let nodes = try await client.nodes.listNodes(.init()).nodes
        #expect(nodes.first { $0.id == "leaving" }?.status == .disconnected, "\(nodes)")
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
        try await eventually { processes(containing: marker).isEmpty }
      }
    }
  }

  @Test(
    "a frozen agent's task that ignores SIGTERM is dead before its replacement starts (the lease counts the kill grace)"
  )
  func frozenAgentsStubbornTask() async throws {
    try await Cluster.with(serverArguments: fastLoss) { cluster in
      let frozen = try cluster.startAgent("frozen")
      try await cluster.waitForActiveNodes(["frozen"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let ledger = cluster.directory + "/ledger"
        let marker = uniqueMarker()
        let task = try await client.submit(ledgerTask(ledger, marker: marker))
        try await client.waitFor(task.id, state: .running)
        try cluster.startAgent("thawed")
        try await cluster.waitForActiveNodes(["frozen", "thawed"])

        frozen.signal(SIGSTOP)
        defer { frozen.signal(SIGCONT) }
        try await eventually(timeout: .seconds(30)) {
          try await client.task(task.id).nodeID == "thawed"
            && (try lifetimes(in: ledger)["thawed"] != nil)
        }
        let spans = try lifetimes(in: ledger)
        let old = try #require(spans["frozen"])
        let new = try #require(spans["thawed"])
        #expect(old.upperBound < new.lowerBound, "the copies overlapped: \(spans)")
        frozen.signal(SIGCONT)
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
        try await eventually { processes(containing: marker).isEmpty }
      }
    }
  }

  @Test("a task ends with its command: what it detached (setsid) is killed and does not hold it")
  func detachedProcessesEnd() async throws {
    try await Cluster.with { cluster in
      try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      let marker = uniqueMarker()
      // The detached sleep keeps the task's stdout open: without cleanup `run` would wait for it.
      let run = try await cluster.orchion([
        "run", "--", "sh", "-c", "setsid sleep 1\(marker) & echo hi",
      ])
      #expect(run.status == 0, "\(run.stderr)")
      #expect(run.stdout == "hi\n")
      try await eventually(timeout: .seconds(10)) { processes(containing: marker).isEmpty }
    }
  }

  @Test(
    "nothing a task started survives a cancel or a SIGKILL of its agent, however it detached",
    arguments: ["cancel", "kill agent"]
  )
  func detachedProcessesDieWithTheTask(how: String) async throws {
    try await Cluster.with { cluster in
      let agent = try cluster.startAgent("solo")
      try await cluster.waitForActiveNodes(["solo"])
      try await withOrchionClient(server: cluster.address, token: testAdminToken) { client in
        let marker = uniqueMarker()
        // A new session, a double fork (orphaned to the spawner), and one that ignores SIGTERM.
        let task = try await client.submit([
          "sh", "-c",
          "setsid sleep 1\(marker) & (sleep 2\(marker) &) ; (trap '' TERM; exec sleep 3\(marker)) & sleep 4\(marker)",
        ])
        try await client.waitFor(task.id, state: .running)
        try await eventually { processes(containing: marker).count >= 4 }
        if how == "cancel" {
          _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
          #expect(try await client.waitFor(task.id).state == .cancelled)
        } else {
          agent.signal(SIGKILL)
        }
        try await eventually(timeout: .seconds(20)) { processes(containing: marker).isEmpty }
      }
    }
  }
}
