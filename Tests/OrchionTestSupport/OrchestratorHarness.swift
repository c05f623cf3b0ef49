import GRPCCore
import GRPCInProcessTransport
import Logging
import OrchionClient
import OrchionCore
import OrchionServer
import ServiceLifecycle

/// The admin token test orchestrators accept (in-process ones through ``Orchestrator/Configuration/testing``,
/// `orchion` processes through `ORCHION_TOKEN`) and test clients present.
public let testAdminToken = "orchion-test-admin-token"

/// An orchestrator running in this process on an ephemeral loopback port.
public struct RunningOrchestrator: Sendable {
  /// The orchestrator under test.
  public let orchestrator: Orchestrator
  /// The port it listens on.
  public let port: Int

  /// Its address.
  public var address: ServerAddress { ServerAddress(host: "127.0.0.1", port: port) }
}

extension Orchestrator.Configuration {
  /// Loopback, port 0, otherwise the defaults.
  public static var testing: Orchestrator.Configuration {
    .defaults {
      $0.host = "127.0.0.1"
      $0.port = 0
      $0.authentication.adminTokens = [testAdminToken]
      // Suites that present bad tokens by the thousand test other things; the failed-
      // authentication limit has its own test, which lowers this again.
      $0.authentication.failedAuthenticationBurst = 1_000_000
    }
  }
}

/// Starts an orchestrator in a `ServiceGroup`, runs `body` with it and a connected client,
/// then shuts it down gracefully and waits until it has stopped.
/// - Parameters:
///   - configuration: The orchestrator's configuration (port 0 is advisable).
///   - clock: The clock it runs on.
///   - body: The test.
public func withRunningOrchestrator<Result: Sendable>(
  configuration: Orchestrator.Configuration = .testing,
  clock: any WallClock = SystemClock(),
  _ body: (RunningOrchestrator, OrchionNetworkClient) async throws -> Result
) async throws -> Result {
  try await runningOrchestrator(configuration: configuration, clock: clock) { orchestrator in
    let port = try await orchestrator.listeningPort()
    let running = RunningOrchestrator(orchestrator: orchestrator, port: port)
    return try await withOrchionClient(server: running.address, token: testAdminToken) {
      client in
      try await body(running, client)
    }
  }
}

/// Starts an orchestrator's services, runs `body` with it, then shuts it down gracefully —
/// also when `body` throws.
private func runningOrchestrator<Result: Sendable>(
  configuration: Orchestrator.Configuration,
  clock: any WallClock,
  _ body: (Orchestrator) async throws -> Result
) async throws -> Result {
  let logger = Logger(label: "orchion.test", factory: { _ in SwiftLogNoOpLogHandler() })
  let orchestrator = try await Orchestrator(
    configuration: configuration,
    clock: clock,
    logger: logger
  )
  let group = ServiceGroup(
    configuration: .init(services: orchestrator.services, logger: logger)
  )
  return try await withThrowingTaskGroup(of: Void.self) { tasks in
    tasks.addTask { try await group.run() }
    do {
      let result = try await body(orchestrator)
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
      return result
    } catch {
      await group.triggerGracefulShutdown()
      try? await tasks.waitForAll()
      throw error
    }
  }
}

/// A client of an orchestrator in this process (see ``withOrchestrator(configuration:clock:_:)``).
public typealias InProcessClient = OrchionClient<InProcessTransport.Client>

/// An orchestrator serving its API in this process: no sockets, ports or connection limits,
/// the same services, interceptors and state as over TCP.
public struct InProcessOrchestrator: Sendable {
  /// The orchestrator under test.
  public let orchestrator: Orchestrator

  /// Runs `body` with a connection of its own presenting `token` (none when `nil`), and
  /// closes it after.
  public func withClient<Result: Sendable>(
    token: String?,
    _ body: (InProcessClient) async throws -> Result
  ) async throws -> Result {
    let grpc = GRPCClient(
      transport: try orchestrator.connectInProcess(),
      interceptors: token.map { [BearerTokenInterceptor(token: $0)] } ?? []
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await grpc.runConnections() }
      defer { grpc.beginGracefulShutdown() }
      return try await body(OrchionClient(grpc: grpc))
    }
  }
}

/// Starts an orchestrator serving in this process (``Orchestrator/Listener/inProcess``) in a
/// `ServiceGroup`, runs `body` with it and a client presenting the admin token, then shuts it
/// down gracefully and waits until it has stopped. What the server's unit tests use; the
/// end-to-end tests run `orchion` over TCP.
public func withOrchestrator<Result: Sendable>(
  configuration: Orchestrator.Configuration = .testing,
  clock: any WallClock = SystemClock(),
  _ body: (InProcessOrchestrator, InProcessClient) async throws -> Result
) async throws -> Result {
  var configuration = configuration
  configuration.listener = .inProcess
  return try await runningOrchestrator(configuration: configuration, clock: clock) {
    orchestrator in
    let running = InProcessOrchestrator(orchestrator: orchestrator)
    return try await running.withClient(token: testAdminToken) { client in
      try await body(running, client)
    }
  }
}
