import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf
import Synchronization

/// `orchion-bench nodes`: many simulated nodes heartbeating over the real agent protocol.
struct NodesBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "nodes",
    abstract: "Simulate N nodes heartbeating at a rate; report achieved rate and latency.",
    discussion: """
      Each simulated node does what a real agent does: RegisterNode, then one
      AgentService.Connect stream with hello and heartbeats; latency is from writing a
      heartbeat to reading its heartbeat_ack. Nodes heartbeat from the moment they are
      connected, but only the --duration after the last one connected is measured (rate,
      latency, and with --server-pid the orchestrator's CPU and RSS from /proc): the steady
      load, not the storm of registrations. Nodes are named sim-0, sim-1, … and cordoned so no
      task is placed on them; they disappear (DISCONNECTED) after the run.
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
      try OrchionNetworkClient.makeGRPCClient(server: address, token: token)
    }
    let stats = NodesBenchStats(nodes: count, window: duration.duration)
    let interval = Duration.seconds(1 / rate)
    let serverPid = serverPid
    let usage = await withThrowingTaskGroup(of: Void.self) { group in
      for grpc in grpcClients { group.addTask { try await grpc.runConnections() } }
      defer { for grpc in grpcClients { grpc.beginGracefulShutdown() } }
      return await withTaskGroup(of: (ProcessUsage, ProcessUsage)?.self) { nodes in
        for index in 0..<count {
          let grpc = grpcClients[index % grpcClients.count]
          nodes.addTask {
            await Self.simulate(node: "sim-\(index)", grpc: grpc, interval: interval, stats: stats)
            return nil
          }
        }
        // The orchestrator's CPU over the measured window only.
        nodes.addTask {
          let start = await stats.windowStart()
          let before = serverPid.flatMap(ProcessUsage.init(pid:))
          try? await Task.sleep(until: start.advanced(by: duration.duration), clock: .continuous)
          let after = serverPid.flatMap(ProcessUsage.init(pid:))
          return before.flatMap { before in after.map { (before, $0) } }
        }
        var usage: (ProcessUsage, ProcessUsage)?
        for await result in nodes { if let result { usage = result } }
        return usage
      }
    }
    Console.line(stats.report())
    if let (before, after) = usage {
      let cpu = Double(after.cpuTicks - before.cpuTicks) / ProcessUsage.ticksPerSecond
      Console.line(
        "orchestrator: RSS \(Quantity.bytes(after.residentBytes)), CPU \(String(format: "%.0f", 100 * cpu / duration.duration.seconds))% of one core over the measured window"
      )
    }
  }

  /// One simulated node: register, cordon itself, connect, heartbeat until `end`, leave.
  static func simulate(
    node: String,
    grpc: GRPCClient<HTTP2ClientTransport.Posix>,
    interval: Duration,
    stats: NodesBenchStats
  ) async {
    let nodes = Orchion_V1_NodeService.Client(wrapping: grpc)
    let agent = Orchion_V1_AgentService.Client(wrapping: grpc)
    let connected = Mutex(false)
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
        } catch let error as RPCError
          where error.code == .resourceExhausted && stats.isRunning(at: .now)
        {
          stats.throttled()
          try await Task.sleep(for: .milliseconds(Int.random(in: 200...1000)))
        }
      }
      _ = try await nodes.cordonNode(.with { $0.nodeID = node })
      let sent = Mutex<[ContinuousClock.Instant]>([])
      try await agent.connect { writer in
        try await writer.write(
          .with {
            $0.hello = .with {
              $0.nodeID = node
              $0.protocol = OrchionVersion.agentProtocol
            }
          }
        )
        connected.withLock { $0 = true }
        stats.settled(connected: true)
        // A random phase, so the nodes' heartbeats do not arrive in lockstep.
        var next = ContinuousClock.now.advanced(by: interval * Double.random(in: 0..<1))
        while stats.isRunning(at: next) {
          try await Task.sleep(until: next, clock: .continuous)
          let now = ContinuousClock.now
          sent.withLock { $0.append(now) }
          try await writer.write(.with { $0.heartbeat = .init() })
          stats.sent(at: now)
          next = next.advanced(by: interval)
        }
      } onResponse: { response in
        for try await message in response.messages {
          guard case .heartbeatAck = message.kind else { continue }
          let sentAt = sent.withLock { $0.isEmpty ? nil : $0.removeFirst() }
          if let sentAt { stats.acknowledged(sentAt: sentAt, at: .now) }
        }
      }
      _ = try? await nodes.unregisterNode(.with { $0.nodeID = node })
    } catch {
      if !connected.withLock({ $0 }) { stats.settled(connected: false) }
      stats.failed(error)
    }
  }
}

/// Counters and latency samples shared by the simulated nodes, and the measured window: it
/// opens when every node has connected (or given up) and lasts the run's duration.
final class NodesBenchStats: Sendable {
  private struct State {
    var connected = 0
    var settled = 0
    var sent = 0
    var acknowledged: [Duration] = []
    var throttled = 0
    var errors: [String: Int] = [:]
    var window: Range<ContinuousClock.Instant>?
  }

  private let nodes: Int
  private let length: Duration
  private let created = ContinuousClock.now
  private let state = Mutex(State())

  init(nodes: Int, window length: Duration) {
    self.nodes = nodes
    self.length = length
  }

  /// A node connected, or gave up before it could: the last one opens the window.
  func settled(connected: Bool) {
    state.withLock { state in
      if connected { state.connected += 1 }
      state.settled += 1
      if state.settled == nodes { open(&state) }
    }
  }

  private func open(_ state: inout State) {
    guard state.window == nil else { return }
    let now = ContinuousClock.now
    state.window = now..<now.advanced(by: length)
  }

  /// When the window opened; waits for it, and opens it after `patience` whoever is missing.
  func windowStart(patience: Duration = .seconds(300)) async -> ContinuousClock.Instant {
    while true {
      let start = state.withLock { state -> ContinuousClock.Instant? in
        if state.window == nil && created.duration(to: .now) > patience { open(&state) }
        return state.window?.lowerBound
      }
      if let start { return start }
      try? await Task.sleep(for: .milliseconds(50))
    }
  }

  /// Whether nodes go on heartbeating at `instant`: until the window has ended.
  func isRunning(at instant: ContinuousClock.Instant) -> Bool {
    state.withLock { $0.window.map { instant < $0.upperBound } ?? true }
  }

  func sent(at instant: ContinuousClock.Instant) {
    state.withLock { state in
      if state.window?.contains(instant) == true { state.sent += 1 }
    }
  }

  func acknowledged(sentAt: ContinuousClock.Instant, at now: ContinuousClock.Instant) {
    state.withLock { state in
      if state.window?.contains(sentAt) == true {
        state.acknowledged.append(sentAt.duration(to: now))
      }
    }
  }

  func throttled() { state.withLock { $0.throttled += 1 } }

  func failed(_ error: any Error) {
    let key = (error as? RPCError).map { "\($0.code)" } ?? "\(type(of: error))"
    state.withLock { $0.errors[key, default: 0] += 1 }
  }

  func report() -> String {
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
      let rate = Double(samples.count) / length.seconds
      return
        "nodes: \(state.connected)/\(nodes) connected; in the \(DurationFormat.format(length)) after the last connected: \(state.sent) heartbeats sent, \(samples.count) acknowledged = \(String(format: "%.0f", rate))/s; latency p50 \(percentile(0.5)), p99 \(percentile(0.99)), max \(percentile(1)); \(errors); \(state.throttled) registrations retried after RESOURCE_EXHAUSTED"
    }
  }
}
