import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
import OrchionAPI
import OrchionClient
public import OrchionCore
import OrchionWire
public import ServiceLifecycle
import SwiftProtobuf

/// The node agent: joins an orchestrator, reports what the machine offers, heartbeats, and runs
/// assigned tasks as supervised process trees, streaming their output back.
///
/// ```swift
/// let agent = Agent(configuration: .init(server: address, dataDirectory: "~/.orchion/agent"), logger: logger)
/// try await ServiceGroup(services: [agent], logger: logger).run()
/// ```
///
/// On graceful shutdown it stops its tasks (SIGTERM, then SIGKILL after the kill grace), reports
/// them back to the orchestrator so they run elsewhere, and leaves. If it is killed instead, its
/// tasks' process trees are killed at once by its spawner.
public struct Agent: Service {
  private let configuration: AgentConfiguration
  private let clock: any WallClock
  private let logger: Logger

  /// Creates an agent.
  /// - Parameters:
  ///   - configuration: Where to connect and what to offer.
  ///   - clock: The clock for heartbeats, timeouts and backoff.
  ///   - logger: Where the agent logs.
  public init(
    configuration: AgentConfiguration,
    clock: any WallClock = SystemClock(),
    logger: Logger
  ) {
    self.configuration = configuration
    self.clock = clock
    self.logger = logger
  }

  /// How tasks reach the orchestrator over TLS as the agent does (`orchion msg` reads these):
  /// paths only, which the tasks' user can read anyway.
  static func clientEnvironment(_ tls: ClientTLS?) -> [String: String] {
    var environment: [String: String] = [:]
    environment["ORCHION_TLS_CA"] = tls?.caPath
    environment["ORCHION_TLS_CERT"] = tls?.certificatePath
    environment["ORCHION_TLS_KEY"] = tls?.keyPath
    return environment
  }

  public func run() async throws {
    let nodeID = try configuration.nodeID ?? NodeIdentity.load(from: configuration.dataDirectory)
    let slots = configuration.slots ?? CapacityProbe.cpuCount
    let outbox = Outbox(maxBytes: configuration.maxBufferedOutputBytes)
    // Before any task starts: the spawner watches this one lease for every task (see
    // AgentConnection).
    try ProcessLauncher.prepareLease()
    let executor = TaskExecutor(
      outbox: outbox,
      clock: clock,
      nodeID: nodeID,
      slots: Int(slots),
      killGrace: configuration.killGrace,
      clientEnvironment: Self.clientEnvironment(configuration.tls),
      logger: logger
    )
    // One client per orchestrator of the cluster; they connect lazily, so only the leader's
    // carries traffic.
    let credential = NodeCredentialFile(directory: configuration.dataDirectory, node: nodeID)
    let servers = try configuration.servers.map { address in
      (
        address: address,
        grpc: try OrchionClient.makeGRPCClient(
          server: address,
          token: configuration.token,
          tls: configuration.tls,
          interceptors: [NodeCredentialInterceptor(credential: credential)]
        )
      )
    }
    let registration = Orchion_V1_RegisterNodeRequest.with {
      $0.nodeID = nodeID.rawValue
      $0.address = ProcessInfo.processInfo.hostName
      $0.labels = CapacityProbe.labels().merging(configuration.labels) { $1 }
      var resources = CapacityProbe.resources()
      resources.extended.merge(configuration.extendedResources) { $1 }
      $0.resources = .init(resources)
      $0.slots = slots
      $0.metadata = ["orchion.io/agent-pid": "\(ProcessInfo.processInfo.processIdentifier)"]
    }
    let connection = AgentConnection(
      servers: servers,
      token: configuration.token,
      tls: configuration.tls,
      credential: credential,
      registration: registration,
      executor: executor,
      outbox: outbox,
      clock: clock,
      maxReconnectDelay: configuration.maxReconnectDelay,
      instanceID: UUID().uuidString,
      logger: logger
    )
    logger.info(
      "agent starting",
      metadata: [
        "orchion.node.id": "\(nodeID)",
        "orchion.address": "\(configuration.servers.map(\.description).joined(separator: ","))",
      ]
    )

    await withThrowingTaskGroup(of: Void.self) { group in
      for server in servers {
        group.addTask { try await server.grpc.runConnections() }
      }
      group.addTask { await executor.run() }
      group.addTask { await connection.run() }
      // Run until the process is asked to stop...
      try? await gracefulShutdown()
      // ...then say goodbye first: the node becomes DISCONNECTED and the orchestrator requeues
      // its tasks at once and sends it nothing more. Then stop the processes. If the goodbye
      // does not get through, the PENDING reports from stopping hand the tasks back instead.
      connection.leaving.set(true)
      var options = CallOptions.defaults
      options.timeout = .seconds(2)
      var unregistered = false
      do {
        _ = try await Orchion_V1_NodeService.Client(wrapping: connection.grpc).unregisterNode(
          .with { $0.nodeID = nodeID.rawValue },
          options: options
        )
        unregistered = true
      } catch {
        logger.warning(
          "cannot unregister from the orchestrator",
          metadata: ["orchion.error": "\(error)"]
        )
      }
      executor.stopAll(reason: "agent \(nodeID) is shutting down")
      let deadline = clock.now.advanced(by: configuration.killGrace + .seconds(2))
      // Wait for the processes to end and, when the goodbye failed, for the reports to leave.
      while !(executor.isIdle
        && (unregistered || outbox.acknowledgedSequence == outbox.lastSequence)),
        clock.now < deadline
      {
        try? await clock.sleep(for: .milliseconds(20))
      }
      group.cancelAll()
      for server in servers { server.grpc.beginGracefulShutdown() }
    }
  }
}
