import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
import OrchionAPI
public import OrchionCore
public import ServiceLifecycle

/// The control plane: the node registry, heartbeat monitoring and the gRPC API, wired together.
///
/// It does no I/O until its ``services`` run in a `ServiceGroup`:
/// ```swift
/// let orchestrator = Orchestrator(configuration: .defaults { $0.port = 0 }, logger: logger)
/// let group = ServiceGroup(
///   configuration: .init(services: orchestrator.services, gracefulShutdownSignals: [.sigterm],
///     logger: logger))
/// try await group.run()
/// ```
public final class Orchestrator: Sendable {
  /// How the orchestrator listens and times nodes.
  public struct Configuration: Sendable {
    /// Address to listen on; `127.0.0.1` keeps the API off the network.
    public var host: String
    /// Port to listen on; 0 picks a free one (see ``Orchestrator/listeningPort()``).
    public var port: Int
    /// Heartbeat timeout, lost-after and forget-after.
    public var nodes: NodeTable.Configuration
    /// Largest request message accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED.
    public var maxRequestBytes: Int

    /// 127.0.0.1:50051, 30 s heartbeat timeout, 1 min lost-after, 4 MiB requests.
    public static var defaults: Configuration {
      Configuration(host: "127.0.0.1", port: 50051, nodes: .defaults, maxRequestBytes: 4 << 20)
    }

    /// The defaults, changed by `update`.
    public static func defaults(_ update: (inout Configuration) -> Void) -> Configuration {
      var configuration = defaults
      update(&configuration)
      return configuration
    }

    /// Creates a configuration.
    public init(host: String, port: Int, nodes: NodeTable.Configuration, maxRequestBytes: Int) {
      self.host = host
      self.port = port
      self.nodes = nodes
      self.maxRequestBytes = maxRequestBytes
    }
  }

  /// Fully qualified names of the services offered, as health checks name them.
  public static let serviceNames = ["orchion.v1.NodeService"]

  /// The configuration the orchestrator was created with.
  public let configuration: Configuration
  /// Every node the orchestrator knows.
  public let registry: NodeRegistry
  /// Health of the services, for `grpc.health.v1.Health`.
  public let health: HealthStatusBoard
  private let server: GRPCServer<HTTP2ServerTransport.Posix>
  private let logger: Logger

  /// Creates an orchestrator.
  /// - Parameters:
  ///   - configuration: Where to listen and how to time nodes.
  ///   - clock: The clock for heartbeats and timestamps; tests pass a manual one.
  ///   - logger: Where the orchestrator logs.
  public init(
    configuration: Configuration,
    clock: any WallClock = SystemClock(),
    logger: Logger
  ) {
    self.configuration = configuration
    self.logger = logger
    registry = NodeRegistry(configuration: configuration.nodes, clock: clock)
    health = HealthStatusBoard(serving: Self.serviceNames)

    var transportConfig = HTTP2ServerTransport.Posix.Config.defaults
    transportConfig.rpc.maxRequestPayloadSize = configuration.maxRequestBytes
    let transport = HTTP2ServerTransport.Posix(
      address: Self.socketAddress(host: configuration.host, port: configuration.port),
      transportSecurity: .plaintext,
      config: transportConfig
    )
    server = GRPCServer(
      transport: transport,
      services: [
        NodeServiceHandler(registry: registry, usage: nil),
        HealthService(board: health),
      ],
      interceptors: [AccessLogInterceptor(logger: logger)]
    )
  }

  /// The long-lived parts, in dependency order: a `ServiceGroup` shuts them down in reverse,
  /// so the API stops taking requests before the monitor stops.
  public var services: [any Service] {
    [
      HeartbeatMonitor(registry: registry, logger: logger),
      GRPCServerService(
        server: server,
        endpoint: "\(configuration.host):\(configuration.port)",
        beforeShutdown: { [health] in health.shutDown() }
      ),
    ]
  }

  /// The port the server listens on, once it is bound.
  /// - Throws: When the server failed to bind or has stopped.
  public func listeningPort() async throws -> Int {
    let address = try await server.transport.listeningAddress
    if let ipv4 = address.ipv4 { return ipv4.port }
    if let ipv6 = address.ipv6 { return ipv6.port }
    throw OrchionError(code: .internalError, message: "server is not listening on TCP: \(address)")
  }

  private static func socketAddress(host: String, port: Int) -> GRPCNIOTransportCore.SocketAddress {
    let numeric = host == "localhost" ? "127.0.0.1" : host
    return numeric.contains(":")
      ? .ipv6(host: numeric, port: port) : .ipv4(host: numeric, port: port)
  }
}
