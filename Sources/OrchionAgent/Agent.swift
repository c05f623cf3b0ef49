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
    // AgentConnection), and tasks run as this user cannot look into this process.
    try ProcessLauncher.prepareLease()
    ProcessLauncher.hideFromTasks()
    configuration.taskUser?.apply()
    let cgroups = TaskCgroups.make(
      node: nodeID,
      dataDirectory: configuration.dataDirectory,
      logger: logger
    )
    // Empty once every attempt's cgroup went: nothing of this agent is left in the hierarchy.
    defer { cgroups?.removeBase() }
    let workspaces = Workspaces(
      root: configuration.dataDirectory + "/workspaces",
      ttl: configuration.workspaceTTL,
      budget: configuration.workspaceBudget,
      clock: clock,
      logger: logger
    )
    if configuration.taskUser != nil {
      // Tasks run as another user reach their workspaces through the data directory:
      // traversable, not listable; its files stay 0600.
      try? FileManager.default.setAttributes(
        [.posixPermissions: 0o711],
        ofItemAtPath: configuration.dataDirectory
      )
    }
    let executor = TaskExecutor(
      outbox: outbox,
      clock: clock,
      nodeID: nodeID,
      slots: Int(slots),
      killGrace: configuration.killGrace,
      cgroups: cgroups,
      clientEnvironment: Self.clientEnvironment(configuration.tls)
        .merging(configuration.taskUser?.environment ?? [:]) { $1 },
      agentSearchPath: configuration.agentSearchPath,
      workspaces: workspaces,
      taskUser: configuration.taskUser,
      logger: logger
    )
    // One client per orchestrator of the cluster; they connect lazily, so only the leader's
    // carries traffic.
    let credential = NodeCredentialFile(directory: configuration.dataDirectory, node: nodeID)
    let servers = try configuration.servers.map { address in
      (
        address: address,
        grpc: try OrchionNetworkClient.makeGRPCClient(
          server: address,
          token: configuration.token,
          tls: configuration.tls,
          interceptors: [NodeCredentialInterceptor(credential: credential)]
        )
      )
    }
    let labels = CapacityProbe.labels().merging(configuration.labels) { $1 }
    var resources = CapacityProbe.resources()
    resources.extended.merge(configuration.extendedResources) { $1 }
    let registration = RegistrationSource(.with {
      $0.nodeID = nodeID.rawValue
      $0.address = ProcessInfo.processInfo.hostName
      $0.labels = labels
      $0.resources = .init(resources)
      $0.slots = slots
      $0.metadata = ["orchion.io/agent-pid": "\(ProcessInfo.processInfo.processIdentifier)"]
      $0.agentVersion = OrchionVersion.current
    })
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
      group.addTask {
        await workspaces.run(every: configuration.workspaceSweepInterval) {
          outbox.acknowledgedSequence
        }
      }
      if let watcher = factsWatcher(
        source: registration,
        base: FactsWatcher.Base(
          labels: labels,
          extendedResources: resources.extended,
          slots: Int64(slots),
          maxAgents: configuration.maxAgents
        )
      ) {
        group.addTask { await watcher.run() }
      }
      // Run until the process is asked to stop...
      try? await gracefulShutdown()
      await leave(node: nodeID, connection: connection, executor: executor, outbox: outbox)
      group.cancelAll()
      for server in servers { server.grpc.beginGracefulShutdown() }
    }
  }

  /// What looks for agent CLIs and GPUs, unless detection is off.
  private func factsWatcher(
    source: RegistrationSource,
    base: FactsWatcher.Base
  ) -> FactsWatcher? {
    guard configuration.detectsFacts else { return nil }
    let agentEnvironment = ProcessInfo.processInfo.environment
    let searchPath = FactsDetector.searchPath(
      extra: configuration.agentSearchPath,
      path: agentEnvironment["PATH"]
    )
    return FactsWatcher(
      detector: FactsDetector(
        searchPath: searchPath,
        environment: FactsDetector.environment(from: agentEnvironment, searchPath: searchPath),
        timeout: configuration.detectionTimeout,
        ollama: OllamaModels.address(from: agentEnvironment),
        clock: clock
      ),
      source: source,
      base: base,
      interval: configuration.detectionInterval,
      clock: clock,
      logger: logger
    )
  }

  /// Stops the node gracefully: no new work, every process stopped (SIGTERM, then SIGKILL after
  /// the kill grace) and reported, and only then the goodbye, behind those reports on the same
  /// stream. Saying goodbye first would let the orchestrator start a task's replacement while
  /// this node's copy still runs. When a process outlives its SIGKILL (stuck in the kernel) the
  /// agent leaves without a goodbye: the orchestrator then waits out heartbeat-timeout +
  /// lost-after, by which time the spawner's lease has stopped the copy.
  private func leave(
    node nodeID: NodeID,
    connection: AgentConnection,
    executor: TaskExecutor,
    outbox: Outbox
  ) async {
    connection.leaving.set(true)
    executor.stopAll(reason: "agent \(nodeID) is shutting down")
    let stopped = clock.now.advanced(by: configuration.killGrace + .seconds(2))
    while !executor.isIdle, clock.now < stopped {
      try? await clock.sleep(for: .milliseconds(20))
    }
    guard executor.isIdle else {
      logger.warning(
        "processes still running after the kill grace; leaving without a goodbye",
        metadata: ["orchion.node.id": "\(nodeID)"]
      )
      return
    }
    let goodbye = outbox.postGoodbye(reason: "agent \(nodeID) is shutting down")
    // Acknowledged, or the stream ended (the orchestrator closes it on a goodbye, or is gone).
    let answered = clock.now.advanced(by: .seconds(2))
    while outbox.acknowledgedSequence < goodbye, !connection.finished.value, clock.now < answered
    {
      try? await clock.sleep(for: .milliseconds(20))
    }
  }
}
