import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// `orchion-bench dashboard`: the HTTP side under a big cluster — pages and `/metrics` with
/// thousands of tasks and nodes, and the orchestrator's cost while browsers follow live output.
struct DashboardBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dashboard",
    abstract: "Time the dashboard's pages and /metrics with many tasks and nodes; cost of live followers.",
    discussion: """
      Starts its own orchestrator, registers --nodes nodes (RegisterNode only: listed, never \
      placed on) and one real agent, and submits --tasks tasks (`/bin/true`, --concurrency at a \
      time) that run to the end. Then GETs /, /nodes, /tasks and /metrics --samples times each \
      over fresh loopback connections and reports latency (min/median/p95/max) and size. Last, \
      --followers clients follow the live output of one task printing 10 lines a second for \
      --duration, and the orchestrator's CPU and RSS over that window are compared with the \
      same window without followers.
      """
  )

  @Option(help: "Nodes to register.")
  var nodes = 1_000

  @Option(help: "Tasks to submit and run.")
  var tasks = 10_000

  @Option(help: "Submissions in flight at once.")
  var concurrency = 32

  @Option(help: "GETs per page.")
  var samples = 30

  @Option(help: "Clients following live output at once.")
  var followers = 20

  @Option(help: "How long the followers follow (and the quiet window before).")
  var duration = DurationArgument(.seconds(20))

  func validate() throws {
    guard nodes >= 0, tasks > 0, concurrency > 0, samples > 0, followers >= 0 else {
      throw ValidationError("--tasks, --concurrency and --samples must be positive")
    }
  }

  func run() async throws {
    let httpPort = try BenchEnvironment.freePort()
    let cluster = try BenchCluster("dashboard", logged: false, httpPort: httpPort)
    defer { cluster.stop() }
    let (address, token) = (cluster.address, cluster.token)
    try await FootprintBench.waitUntilServing(port: address.port)
    try cluster.startAgent("dash-agent", arguments: ["--slots", "16"])
    let http = BenchHTTP(port: httpPort, token: token)
    try await withOrchionClient(server: address, token: token) { client in
      try await FailoverBench.waitForActive(["dash-agent"], client: client)
      try await Self.register(nodes, client: client)
      let submitted = ContinuousClock.now
      try await Self.submit(tasks, concurrency: concurrency, client: client)
      try await Self.waitUntilDone(client: client)
      Console.line(
        "setup: \(nodes) nodes registered, \(tasks) tasks run in \(BenchEnvironment.milliseconds(ContinuousClock.now - submitted))"
      )
    }
    for path in ["/", "/nodes", "/tasks", "/metrics"] {
      var times: [Duration] = []
      var bytes = 0
      for _ in 0..<samples {
        let start = ContinuousClock.now
        let answer = try http.get(path)
        times.append(ContinuousClock.now - start)
        guard answer.status == 200 else {
          throw OrchionError.unavailable("GET \(path) answered \(answer.status)")
        }
        bytes = answer.bytes
      }
      times.sort()
      Console.line(
        "GET \(path): min \(BenchEnvironment.milliseconds(times[0])), median \(BenchEnvironment.milliseconds(times[times.count / 2])), p95 \(BenchEnvironment.milliseconds(times[min(times.count - 1, times.count * 95 / 100)])), max \(BenchEnvironment.milliseconds(times[times.count - 1])); \(Quantity.bytes(Int64(bytes)))"
      )
    }
    guard followers > 0 else { return }
    try await followLive(cluster: cluster, http: http)
  }

  /// The orchestrator's CPU and RSS over `duration` with no followers, then with them.
  private func followLive(cluster: BenchCluster, http: BenchHTTP) async throws {
    let task = try await withOrchionClient(server: cluster.address, token: cluster.token) { client in
      try await client.tasks.submitTask(
        .with {
          $0.spec.command = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo \"line $i of live output\"; sleep 0.1; done"]
        }
      ).task.id
    }
    try await Task.sleep(for: .seconds(1))
    let pid = cluster.server.pid
    func window() async throws -> (cpu: Double, rss: Int64) {
      guard let before = ProcessUsage(pid: pid) else { throw OrchionError.unavailable("no /proc/\(pid)") }
      try await Task.sleep(for: duration.duration)
      guard let after = ProcessUsage(pid: pid) else { throw OrchionError.unavailable("no /proc/\(pid)") }
      let seconds = Double(after.cpuTicks - before.cpuTicks) / ProcessUsage.ticksPerSecond
      return (100 * seconds / duration.duration.seconds, after.residentBytes)
    }
    let quiet = try await window()
    let counter = FollowCounter()
    let threads = (0..<followers).map { _ in
      Thread { try? http.follow("/tasks/\(task)/events", counter: counter) }
    }
    for thread in threads { thread.start() }
    let busy = try await window()
    counter.stop()
    let totals = counter.totals
    Console.line(
      "live output, 1 task at 10 lines/s: orchestrator \(String(format: "%.1f", quiet.cpu))% of a core and RSS \(Quantity.bytes(quiet.rss)) with no follower; \(String(format: "%.1f", busy.cpu))% and RSS \(Quantity.bytes(busy.rss)) with \(followers) followers (\(totals.events) events, \(Quantity.bytes(Int64(totals.bytes))) delivered)"
    )
  }

  private static func register(_ count: Int, client: OrchionNetworkClient) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      for worker in 0..<16 {
        group.addTask {
          for index in stride(from: worker, to: count, by: 16) {
            _ = try await client.nodes.registerNode(
              .with {
                $0.nodeID = "dash-sim-\(index)"
                $0.labels = ["orchion.io/simulated": "true", "rack": "r\(index % 40)"]
                $0.resources = .with {
                  $0.cpuMillis = 8000
                  $0.memoryBytes = 32 << 30
                }
                $0.slots = 8
              }
            )
            _ = try await client.nodes.cordonNode(.with { $0.nodeID = "dash-sim-\(index)" })
          }
        }
      }
      try await group.waitForAll()
    }
  }

  private static func submit(_ count: Int, concurrency: Int, client: OrchionNetworkClient) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      for worker in 0..<concurrency {
        group.addTask {
          for index in stride(from: worker, to: count, by: concurrency) {
            _ = try await client.tasks.submitTask(
              .with {
                $0.spec.name = "bench-\(index)"
                $0.spec.command = ["/bin/true"]
              }
            )
          }
        }
      }
      try await group.waitForAll()
    }
  }

  private static func waitUntilDone(client: OrchionNetworkClient) async throws {
    while true {
      let pending = try await client.tasks.listTasks(.with { $0.state = .pending; $0.pageSize = 1 }).tasks
      let assigned = try await client.tasks.listTasks(.with { $0.state = .assigned; $0.pageSize = 1 }).tasks
      let running = try await client.tasks.listTasks(.with { $0.state = .running; $0.pageSize = 1 }).tasks
      if pending.isEmpty && assigned.isEmpty && running.isEmpty { return }
      try await Task.sleep(for: .milliseconds(200))
    }
  }
}
