import ArgumentParser
import Foundation
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

#if canImport(Glibc)
  import Glibc
#endif

/// `orchion-bench failover`: how soon a task on a dead or frozen machine runs elsewhere.
struct FailoverBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "failover",
    abstract:
      "Kill -9 (or freeze) the agent running a task; report seconds until it runs elsewhere.",
    discussion: """
      Starts its own orchestrator (in-memory state, on loopback) and two agents from the `orchion` beside \
      this executable, runs a long task, then kills (--mode kill: SIGKILL) or freezes (--mode \
      freeze: SIGSTOP) the agent running it, and times from that signal to the task RUNNING \
      on the other node — polled every millisecond. A fresh agent replaces the victim before \
      each run.
      """
  )

  enum Mode: String, ExpressibleByArgument, CaseIterable {
    case kill, freeze
  }

  @Option(help: "kill (SIGKILL the agent) or freeze (SIGSTOP it).")
  var mode: Mode = .kill

  @Option(help: "The orchestrator's --heartbeat-timeout.")
  var heartbeatTimeout = DurationArgument(.seconds(1))

  @Option(help: "The orchestrator's --lost-after.")
  var lostAfter = DurationArgument(.seconds(1))

  @Option(help: "Measurements to take.")
  var runs = 3

  func validate() throws {
    guard runs > 0 else { throw ValidationError("--runs must be positive") }
  }

  func run() async throws {
    let cluster = try BenchCluster(
      "failover",
      serverArguments: [
        "--store", "memory", "--heartbeat-timeout", heartbeatTimeout.defaultValueDescription,
        "--lost-after", lostAfter.defaultValueDescription,
      ]
    )
    defer { cluster.stop() }
    let address = cluster.address
    let token = cluster.token
    var agents: [String: BenchProcess] = [:]
    func startAgent(_ name: String) throws {
      agents[name] = try cluster.startAgent(name, arguments: ["--kill-grace", "1s"])
    }
    try startAgent("bench-a")
    try startAgent("bench-b")
    var samples: [Duration] = []
    try await withOrchionClient(server: address, token: token) { client in
      try await Self.waitForActive(["bench-a", "bench-b"], client: client)
      for run in 1...runs {
        let task = try await client.tasks.submitTask(
          .with {
            $0.spec.command = ["sleep", "3600"]
            $0.spec.maxAttempts = 1
          }
        ).task
        let placed = try await Self.poll(client, task.id) { $0.state == .running }
        let victim = placed.nodeID
        let clock = ContinuousClock()
        let start = clock.now
        agents[victim]?.signal(mode == .kill ? SIGKILL : SIGSTOP)
        let moved = try await Self.poll(client, task.id) {
          $0.state == .running && $0.nodeID != victim
        }
        let elapsed = start.duration(to: clock.now)
        samples.append(elapsed)
        Console.line(
          "failover run \(run): task \(task.id) moved \(victim) → \(moved.nodeID) in \(String(format: "%.3f", elapsed.seconds)) s"
        )
        _ = try await client.tasks.cancelTask(.with { $0.taskID = task.id })
        agents[victim]?.stop()
        try startAgent(victim)
        try await Self.waitForActive([victim], client: client)
      }
    }
    let sorted = samples.sorted()
    Console.line(
      "failover (\(mode.rawValue), heartbeat-timeout \(heartbeatTimeout.defaultValueDescription), lost-after \(lostAfter.defaultValueDescription)): median \(String(format: "%.3f", sorted[sorted.count / 2].seconds)) s, min \(String(format: "%.3f", sorted[0].seconds)) s, max \(String(format: "%.3f", sorted[sorted.count - 1].seconds)) s over \(runs) runs"
    )
  }

  static func waitForActive(_ ids: Set<String>, client: OrchionNetworkClient) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(60))
    while ContinuousClock.now < deadline {
      let active = try? await client.nodes.listNodes(.with { $0.status = .active }).nodes.map(\.id)
      if let active, ids.isSubset(of: Set(active)) { return }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw OrchionError.unavailable("agents \(ids.sorted()) did not become ACTIVE within 60 s")
  }

  /// Reads the task every millisecond until `done` holds.
  static func poll(
    _ client: OrchionNetworkClient,
    _ id: String,
    until done: (Orchion_V1_Task) -> Bool
  ) async throws -> Orchion_V1_Task {
    let deadline = ContinuousClock.now.advanced(by: .seconds(600))
    while ContinuousClock.now < deadline {
      let task = try await client.tasks.getTask(.with { $0.taskID = id }).task
      if done(task) { return task }
      try await Task.sleep(for: .milliseconds(1))
    }
    throw OrchionError.unavailable("task \(id) did not get there within 10 minutes")
  }
}
