import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import OrchionAPI
import OrchionClient
import OrchionCore
import SwiftProtobuf
import Synchronization

/// `orchion bench nodes`: many simulated nodes heartbeating over the real agent protocol.
struct NodesBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "nodes",
    abstract: "Simulate N nodes heartbeating at a rate; report achieved rate and latency.",
    discussion: """
      Each simulated node does what a real agent does: RegisterNode, then one
      AgentService.Connect stream with hello and heartbeats; latency is from writing a
      heartbeat to reading its heartbeat_ack. Nodes are named sim-0, sim-1, … and cordoned so
      no task is placed on them; they disappear (DISCONNECTED) after the run. With
      --server-pid, the orchestrator's RSS and CPU are read from /proc.
      """
  )

  @OptionGroup var client: ClientOptions

  @Option(help: "Simulated nodes.")
  var count = 1000

  @Option(help: "Heartbeats per second per node, e.g. 1 or 0.5.")
  var rate = 1.0

  @Option(help: "How long to heartbeat after all nodes are connected.")
  var duration = DurationArgument(.seconds(30))

  @Option(help: "Client connections the streams are spread over.")
  var connections = 16

  @Option(help: "The orchestrator's pid, to report its memory and CPU (same machine).")
  var serverPid: Int32?

  func validate() throws {
    guard count > 0, rate > 0, connections > 0 else {
      throw ValidationError("--count, --rate and --connections must be positive")
    }
  }

  func run() async throws {
    let address = try client.address()
    let token = client.resolvedToken()
    let grpcClients = try (0..<min(connections, count)).map { _ in
      try OrchionClient.makeGRPCClient(server: address, token: token)
    }
    let stats = NodesBenchStats()
    let interval = Duration.seconds(1 / rate)
    let clock = ContinuousClock()
    let before = serverPid.flatMap(ProcessUsage.init(pid:))
    let start = clock.now
    await withThrowingTaskGroup(of: Void.self) { group in
      for grpc in grpcClients { group.addTask { try await grpc.runConnections() } }
      defer { for grpc in grpcClients { grpc.beginGracefulShutdown() } }
      let end = clock.now.advanced(by: duration.duration)
      await withTaskGroup(of: Void.self) { nodes in
        for index in 0..<count {
          let grpc = grpcClients[index % grpcClients.count]
          nodes.addTask {
            await Self.simulate(
              node: "sim-\(index)",
              grpc: grpc,
              interval: interval,
              until: end,
              stats: stats
            )
          }
        }
      }
    }
    let elapsed = start.duration(to: clock.now)
    let after = serverPid.flatMap(ProcessUsage.init(pid:))
    Console.line(stats.report(nodes: count, elapsed: elapsed))
    if let before, let after {
      let cpu = Double(after.cpuTicks - before.cpuTicks) / ProcessUsage.ticksPerSecond
      Console.line(
        "orchestrator: RSS \(Quantity.bytes(after.residentBytes)), CPU \(String(format: "%.0f", 100 * cpu / elapsed.seconds))% of one core over the run"
      )
    }
  }

  /// One simulated node: register, cordon itself, connect, heartbeat until `end`, leave.
  static func simulate(
    node: String,
    grpc: GRPCClient<HTTP2ClientTransport.Posix>,
    interval: Duration,
    until end: ContinuousClock.Instant,
    stats: NodesBenchStats
  ) async {
    let nodes = Orchion_V1_NodeService.Client(wrapping: grpc)
    let agent = Orchion_V1_AgentService.Client(wrapping: grpc)
    do {
      // As a real agent: a registration refused for the caller's rate is retried after a while.
      while true {
        do {
          _ = try await nodes.registerNode(
            .with {
              $0.nodeID = node
              $0.labels = ["orchion.io/simulated": "true"]
              $0.resources.cpuMillis = 1000
            }
          )
          break
        } catch let error as RPCError where error.code == .resourceExhausted && .now < end {
          stats.throttled()
          try await Task.sleep(for: .milliseconds(Int.random(in: 200...1000)))
        }
      }
      _ = try await nodes.cordonNode(.with { $0.nodeID = node })
      let sent = Mutex<[ContinuousClock.Instant]>([])
      try await agent.connect { writer in
        try await writer.write(.with { $0.hello = .with { $0.nodeID = node } })
        stats.connected()
        // A random phase, so the nodes' heartbeats do not arrive in lockstep.
        var next = ContinuousClock.now.advanced(by: interval * Double.random(in: 0..<1))
        while next < end {
          try await Task.sleep(until: next, clock: .continuous)
          sent.withLock { $0.append(.now) }
          try await writer.write(.with { $0.heartbeat = .init() })
          stats.sent()
          next = next.advanced(by: interval)
        }
      } onResponse: { response in
        for try await message in response.messages {
          guard case .heartbeatAck = message.kind else { continue }
          let sentAt = sent.withLock { $0.isEmpty ? nil : $0.removeFirst() }
          if let sentAt { stats.acknowledged(after: sentAt.duration(to: .now)) }
        }
      }
      _ = try? await nodes.unregisterNode(.with { $0.nodeID = node })
    } catch {
      stats.failed(error)
    }
  }
}

/// Counters and latency samples shared by the simulated nodes.
final class NodesBenchStats: Sendable {
  private struct State {
    var connected = 0
    var sent = 0
    var acknowledged: [Duration] = []
    var throttled = 0
    var errors: [String: Int] = [:]
  }

  private let state = Mutex(State())

  func connected() { state.withLock { $0.connected += 1 } }
  func sent() { state.withLock { $0.sent += 1 } }
  func throttled() { state.withLock { $0.throttled += 1 } }
  func acknowledged(after latency: Duration) { state.withLock { $0.acknowledged.append(latency) } }
  func failed(_ error: any Error) {
    let key = (error as? RPCError).map { "\($0.code)" } ?? "\(type(of: error))"
    state.withLock { $0.errors[key, default: 0] += 1 }
  }

  func report(nodes: Int, elapsed: Duration) -> String {
    state.withLock { state in
      let samples = state.acknowledged.sorted()
      func percentile(_ p: Double) -> String {
        guard !samples.isEmpty else { return "-" }
        let index = min(
          samples.count - 1,
          max(0, Int((Double(samples.count) * p).rounded(.up)) - 1)
        )
        return String(format: "%.2f ms", samples[index].seconds * 1000)
      }
      let errors =
        state.errors.isEmpty
        ? "no errors"
        : state.errors.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(
          separator: ", "
        )
      return
        "nodes: \(state.connected)/\(nodes) connected; \(state.sent) heartbeats sent, \(samples.count) acknowledged = \(String(format: "%.0f", Double(samples.count) / elapsed.seconds))/s; latency p50 \(percentile(0.5)), p99 \(percentile(0.99)), max \(percentile(1)); \(errors); \(state.throttled) registrations retried after RESOURCE_EXHAUSTED"
    }
  }
}
