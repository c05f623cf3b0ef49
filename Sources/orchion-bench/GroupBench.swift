import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// One big group on a cluster of its own: how long `SubmitTaskGroup` takes to make every
/// member durable, how fast the members then run from the first start to the last end, and
/// the orchestrator's resident memory before and after.
struct GroupBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "group",
    abstract: "Run one N-member group of /bin/true over agents of its own; report submit time, throughput and orchestrator RSS."
  )

  @Option(help: "Members of the group (1-10000).")
  var members: Int32 = 10_000

  @Option(help: "Agents to start.")
  var agents = 2

  @Option(help: "Slots per agent.")
  var slots = 16

  func run() async throws {
    let cluster = try BenchCluster("group", logged: false)
    defer { cluster.stop() }
    try await FootprintBench.waitUntilServing(port: cluster.address.port)
    let ids = (1...agents).map { "group-\($0)" }
    for id in ids { try cluster.startAgent(id, arguments: ["--slots", "\(slots)"]) }
    try await withOrchionClient(server: cluster.address, token: cluster.token) { client in
      try await FailoverBench.waitForActive(Set(ids), client: client)
      let before = try FootprintBench.residentBytes(of: cluster.server.pid)
      let clock = ContinuousClock()
      let start = clock.now
      let group = try await client.tasks.submitTaskGroup(
        .with {
          $0.spec.command = ["/bin/true"]
          $0.count = members
        }
      ).group
      let submitted = start.duration(to: clock.now)
      var state = group
      while state.pending + state.running > 0 {
        try await Task.sleep(for: .milliseconds(200))
        state = try await client.tasks.getTaskGroup(
          .with {
            $0.groupID = group.id
            $0.countsOnly = true
          }
        ).group
      }
      state = try await client.taskGroup(group.id)
      let after = try FootprintBench.residentBytes(of: cluster.server.pid)
      // First start to last end, from the tasks' own times.
      var first = Int64.max
      var last = Int64.min
      for member in state.members {
        let task = try await client.tasks.getTask(.with { $0.taskID = member.taskID }).task
        first = min(first, Self.nanoseconds(task.startedAt))
        last = max(last, Self.nanoseconds(task.finishedAt))
      }
      let span = Double(last - first) / 1e9
      Console.line(
        "group: \(members) members over \(agents) agents: submitted (all durable) in \(BenchEnvironment.milliseconds(submitted)), first start to last end \(String(format: "%.2f", span)) s = \(String(format: "%.0f", Double(members) / span)) tasks/s, \(state.succeeded) succeeded; orchestrator RSS \(Quantity.bytes(before)) before, \(Quantity.bytes(after)) after"
      )
    }
  }

  static func nanoseconds(_ timestamp: Google_Protobuf_Timestamp) -> Int64 {
    timestamp.seconds &* 1_000_000_000 &+ Int64(timestamp.nanos)
  }
}
