import Foundation
import GRPCCore
public import GRPCInProcessTransport
import GRPCNIOTransportHTTP2
public import Logging
import OrchionAPI
public import OrchionCore
import OrchionScheduler
public import OrchionStore
import OrchionWire
public import ServiceLifecycle
public import CoreMetrics
import Synchronization

/// The control plane: the cluster state, heartbeat monitoring and the gRPC API, wired together.
///
/// Creating one opens its store and loads the state it holds (tasks, nodes, output); it serves
/// once its ``services`` run in a `ServiceGroup`:
/// ```swift
/// let orchestrator = try await Orchestrator(
///   configuration: .defaults { $0.port = 0; $0.store = .sqlite(path: "/var/lib/orchion/orchion.db") },
///   logger: logger)
/// let group = ServiceGroup(
///   configuration: .init(services: orchestrator.services, gracefulShutdownSignals: [.sigterm],
///     logger: logger))
/// try await group.run()
/// ```
public final class Orchestrator: Sendable {
  /// How the orchestrator listens and times nodes.
  /// How clients reach the API.
  public enum Listener: Sendable {
    /// HTTP/2 on TCP, with TLS or not: what `orchion server` serves.
    case tcp
    /// Only clients in this process, through ``connectInProcess()``: unit tests of the server,
    /// with no sockets, ports or connection limits in the way.
    case inProcess
  }

  private enum Server: Sendable {
    /// The TCP server, and the in-process listener this process's own HTTP side (MCP) calls
    /// the API through, with its callers' tokens, so it passes the same checks.
    case tcp(GRPCServer<HTTP2ServerTransport.Posix>, local: InProcessListener)
    case inProcess(InProcessListener)
  }

  public struct Configuration: Sendable {
    /// Address to listen on; `127.0.0.1` keeps the API off the network.
    public var host: String
    /// Port to listen on; 0 picks a free one (see ``Orchestrator/listeningPort()``).
    public var port: Int
    /// Heartbeat timeout, lost-after and forget-after.
    public var nodes: NodeTable.Configuration
    /// Largest request message accepted, in bytes; larger ones are refused by the transport.
    public var maxRequestBytes: Int
    /// Task output kept per task, in bytes; beyond it the oldest output is dropped.
    public var maxLogBytesPerTask: Int
    /// Finished tasks kept in memory; the oldest are forgotten first.
    public var retainedFinishedTasks: Int
    /// Node losses a task survives without using an attempt; one more fails it.
    public var maxLostAttempts: Int32
    /// The address tasks are told to reach the orchestrator at (`ORCHION_SERVER`); empty means
    /// host:port as configured.
    public var advertisedAddress: String
    /// How tasks that do not choose a strategy are placed.
    public var strategy: PlacementStrategy
    /// A task pending this long that still fits nowhere holds a node until it fits.
    public var reserveAfter: Duration
    /// Where state is kept. `orchion server` uses `<data-dir>/orchion.db`; the library default
    /// is ``StoreLocation/memory`` (real SQLite, gone with the process), so say where.
    public var store: StoreLocation
    /// With a shared (PostgreSQL) store: how long the leader lease lasts unrenewed — about how
    /// long a dead or frozen leader goes unnoticed before another takes over.
    public var leaderLease: Duration
    /// Who may call: tokens, and how registrations are bounded.
    public var authentication: Authentication
    /// The 32-byte key task secrets are encrypted with at rest; `nil` makes one for this
    /// process only (fine for the in-memory store: secrets would not outlive it anyway).
    /// `orchion server` keeps it in `<data-dir>/secrets.key`.
    public var secretsKey: [UInt8]?
    /// TLS (and mTLS with a client CA); `nil` for plaintext.
    public var tls: ServerTLS?
    /// Most concurrent RPCs (HTTP/2 streams) one connection may have open.
    public var maxConcurrentStreamsPerConnection: Int
    /// A connection with no RPC open for this long is closed.
    public var maxConnectionIdle: Duration
    /// Connections held at once, in all and per address, and the deadline for a new one's
    /// HTTP/2 preface.
    public var connections: ConnectionLimits
    /// Most messages one mailbox (task, node, queue, topic consumer) holds; a send beyond it
    /// is refused with RESOURCE_EXHAUSTED.
    public var maxMessagesPerMailbox: Int
    /// Most mailboxes the router holds at once (a named topic consumer's counts while it is
    /// away); a send or subscription that would open another is refused with
    /// RESOURCE_EXHAUSTED.
    public var maxMailboxes: Int
    /// How clients reach the API: TCP on `host`:`port` (the default), or only in this process.
    public var listener: Listener = .tcp
    /// Where counters and timings go (`orchion server` gives a Prometheus registry's);
    /// `nil` keeps none.
    public var metricsFactory: (any MetricsFactory)? = nil

    /// 127.0.0.1:50051, 30 s heartbeat timeout, 1 min lost-after, 4 MiB requests, 1 MiB of
    /// output per task, 10,000 finished tasks kept, 5 node losses per task, binpack, reservation
    /// after 5 min, state in memory.
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
      self.maxLogBytesPerTask = 1 << 20
      self.retainedFinishedTasks = 10_000
      self.maxLostAttempts = 5
      self.advertisedAddress = ""
      self.strategy = .binpack
      self.reserveAfter = .seconds(300)
      self.store = .memory
      self.leaderLease = .seconds(5)
      self.authentication = Authentication()
      self.secretsKey = nil
      self.tls = nil
      self.maxConcurrentStreamsPerConnection = 256
      self.maxConnectionIdle = .seconds(300)
      self.connections = .defaults
      self.maxMessagesPerMailbox = RouterLimits.defaults.maxMessagesPerMailbox
      self.maxMailboxes = RouterLimits.defaults.maxMailboxes
    }
  }

  /// Fully qualified names of the services offered, as health checks name them.
  public static let serviceNames = [
    "orchion.v1.NodeService", "orchion.v1.TaskService", "orchion.v1.AgentService",
    "orchion.v1.RouterService",
  ]

  /// The configuration the orchestrator was created with.
  public let configuration: Configuration
  /// Health of the services, for `grpc.health.v1.Health`.
  public let health: HealthStatusBoard
  /// The one writer of nodes, tasks and agent streams.
  let cluster: Cluster
  let logs: LogStore
  /// Where state is kept.
  public let store: any Store
  /// Whether this orchestrator leads (always, unless the store is shared).
  public let leadership: Leadership
  let journal: Journal
  /// The API tokens; `nil` when authentication is off.
  public let tokens: TokenRegistry?
  let secrets: SecretRegistry
  let router: MailboxRouter
  /// Failed authentications per caller address, on the gRPC and the HTTP port alike.
  let failedAuthentications: RateLimiter
  /// Dashboard login codes and sessions (see ``DashboardSessions``).
  public let sessions: DashboardSessions
  /// The API for this process's HTTP side.
  public let api: InProcessAPI
  /// Where tasks reach this orchestrator (their `ORCHION_SERVER`).
  private let taskAddress: TaskAddress
  /// Tasks' own tokens, which `/mcp` takes as gRPC does.
  let taskTokens: TaskTokens
  private let instance = UUID().uuidString
  /// The TCP server (``Listener/tcp``) or the in-process one (``Listener/inProcess``).
  private let server: Server
  private let logger: Logger

  /// Creates an orchestrator over the store its configuration names, with the state it holds.
  /// - Parameters:
  ///   - configuration: Where to listen, how to time nodes, where to keep state.
  ///   - clock: The clock for heartbeats and timestamps; tests pass a manual one.
  ///   - logger: Where the orchestrator logs.
  /// - Throws: When the store cannot be opened or read.
  public convenience init(
    configuration: Configuration,
    clock: any WallClock = SystemClock(),
    logger: Logger
  ) async throws {
    let store = try await configuration.store.open()
    do {
      try await self.init(configuration: configuration, store: store, clock: clock, logger: logger)
    } catch {
      await store.close()
      throw error
    }
  }

  /// Creates an orchestrator over `store`, with the state it holds: pending tasks queue again,
  /// placed ones wait for their agents to report (see ``TaskBoard/restore(_:)``), nodes are
  /// known but silent, output is readable.
  /// - Throws: When the store cannot be read.
  public init(
    configuration: Configuration,
    store: any Store,
    clock: any WallClock = SystemClock(),
    logger: Logger
  ) async throws {
    try configuration.authentication.check(listeningOn: configuration.host)
    self.configuration = configuration
    self.logger = logger
    self.store = store
    health = HealthStatusBoard(serving: Self.serviceNames)
    logs = LogStore(maxBytesPerTask: configuration.maxLogBytesPerTask)
    let metrics = configuration.metricsFactory.map { ServerMetrics(factory: $0) } ?? .none
    journal = Journal(store: store, logger: logger, clock: clock, metrics: metrics)
    taskAddress = TaskAddress(
      configuration.advertisedAddress.isEmpty
        ? "\(configuration.host):\(configuration.port)" : configuration.advertisedAddress
    )
    let secretsKey = configuration.secretsKey ?? SecretVault.randomKey()
    let taskTokens = TaskTokens(secretsKey: secretsKey)
    self.taskTokens = taskTokens
    secrets = SecretRegistry(
      vault: try SecretVault(key: secretsKey),
      journal: journal,
      clock: clock,
      logger: logger
    )
    let routerLimits = RouterLimits.defaults(
      maxMessagesPerMailbox: configuration.maxMessagesPerMailbox,
      maxMailboxes: configuration.maxMailboxes
    )
    cluster = Cluster(
      nodes: configuration.nodes,
      limits: .init(
        retainedFinishedTasks: configuration.retainedFinishedTasks,
        maxLostAttempts: configuration.maxLostAttempts,
        reserveAfter: configuration.reserveAfter
      ),
      router: routerLimits,
      clock: clock,
      logs: logs,
      journal: journal,
      scheduler: StrategyScheduler(strategy: configuration.strategy),
      advertisedAddress: { [taskAddress] in taskAddress.value.withLock { $0 } },
      secrets: secrets,
      taskTokens: taskTokens,
      metrics: metrics,
      logger: logger
    )
    router = MailboxRouter(cluster: cluster, limits: routerLimits)
    if store is any SharedStore {
      // Shared store: follow until the leader lease is ours (LeadershipService), then load.
      leadership = Leadership(.follower(leader: nil), clock: clock)
      for name in Self.serviceNames { health.set(.notServing, for: name) }
    } else {
      leadership = Leadership(.leader, clock: clock)
    }
    tokens =
      configuration.authentication.enabled
      ? TokenRegistry(
        adminTokens: configuration.authentication.adminTokens,
        journal: journal,
        store: store,
        leadership: leadership,
        clock: clock
      ) : nil

    let sessions = DashboardSessions(
      secretsKey: secretsKey,
      clock: clock,
      tokenAccess: Self.dashboardAccess(of: tokens)
    )
    self.sessions = sessions
    // One bucket per address for both ports: a guesser gains nothing by switching to HTTP.
    failedAuthentications = RateLimiter(
      perSecond: configuration.authentication.failedAuthenticationsPerSecond,
      burst: configuration.authentication.failedAuthenticationBurst,
      clock: clock
    )
    let failedAuthentications = failedAuthentications
    let credentialWatch = CredentialWatch()
    var transportConfig = HTTP2ServerTransport.Posix.Config.defaults
    transportConfig.rpc.maxRequestPayloadSize = RequestSizeInterceptor.transportLimit(
      for: configuration.maxRequestBytes
    )
    transportConfig.http2.maxConcurrentStreams = configuration.maxConcurrentStreamsPerConnection
    transportConfig.connection.maxIdleTime = .init(configuration.maxConnectionIdle)
    let connectionGuard = ConnectionGuard(
      limits: configuration.connections,
      clock: clock,
      logger: logger
    )
    transportConfig.channelDebuggingCallbacks.onAcceptTCPConnection = { connectionGuard.accept($0) }
    let transport = HTTP2ServerTransport.Posix(
      address: Self.socketAddress(host: configuration.host, port: configuration.port),
      transportSecurity: configuration.tls?.transportSecurity ?? .plaintext,
      config: transportConfig
    )
    let limits = configuration.authentication
    let nodeService = NodeServiceHandler(
      cluster: cluster,
      leadership: leadership,
      store: store,
      registrationLimiter: RateLimiter(
        perSecond: limits.registrationsPerSecond,
        burst: limits.registrationBurst,
        clock: clock
      ),
      watch: credentialWatch
    )
    let taskService = TaskServiceHandler(
      cluster: cluster,
      logs: logs,
      store: store,
      leadership: leadership,
      secrets: secrets
    )
    api = InProcessAPI(
      tasks: taskService,
      nodes: nodeService,
      cluster: cluster,
      leadership: leadership,
      health: health,
      store: store,
      serviceNames: Self.serviceNames
    )
    let services: [any RegistrableRPCService] = [
        nodeService,
        taskService,
        AgentServiceHandler(
          cluster: cluster,
          leadership: leadership,
          installBase: { sessions.dashboardURL }
        ),
        TokenServiceHandler(tokens: tokens, watch: credentialWatch, sessions: sessions),
        SecretServiceHandler(secrets: secrets),
        RouterServiceHandler(
          router: router,
          limits: router.limits,
          currentNode: { [cluster] in cluster.currentNode(of: $0, attempt: $1) }
        ),
        HealthService(board: health),
      ]
    let interceptors: [any ServerInterceptor] = [
        MetricsInterceptor(metrics: metrics),
        AccessLogInterceptor(logger: logger),
        AuthInterceptor(
          tokens: tokens,
          watch: credentialWatch,
          failures: failedAuthentications,
          taskTokens: taskTokens
        ),
        LeaderOnlyInterceptor(leadership: leadership),
        RequestSizeInterceptor(limit: configuration.maxRequestBytes),
      ]
    switch configuration.listener {
    case .tcp:
      server = .tcp(
        GRPCServer(transport: transport, services: services, interceptors: interceptors),
        local: InProcessListener(services: services, interceptors: interceptors)
      )
    case .inProcess:
      server = .inProcess(InProcessListener(services: services, interceptors: interceptors))
    }
    if leadership.isLeader { try await recovery.run(logger: logger) }
  }

  /// The long-lived parts, in dependency order: a `ServiceGroup` shuts them down in reverse,
  /// so the API stops taking requests before the monitor stops.
  public var services: [any Service] {
    // First in, last out: the store outlives everything that writes to it.
    var services: [any Service] = [StoreService(store: store)]
    if let shared = store as? any SharedStore {
      // First in, last out: the lease is released only after the last write.
      services.append(
        LeadershipService(
          clock: cluster.clock,
          lease: shared.leaderLease(
            instance: instance,
            address: advertisedAddress,
            duration: configuration.leaderLease
          ),
          fence: { token, holdLimit in shared.fence(with: token, holdLimit: holdLimit) },
          leadership: leadership,
          health: health,
          serviceNames: Self.serviceNames,
          onElected: { [recovery, logger] in try await recovery.run(logger: logger) },
          logger: logger
        )
      )
    }
    services += [
      // Before the others: every change made while they stop is still written.
      JournalService(journal: journal),
      HeartbeatMonitor(cluster: cluster, logger: logger),
      ClusterService(cluster: cluster),
    ]
    if case .tcp(_, let local) = server {
      // Stops after the TCP server: the HTTP side (stopped before both) calls through it.
      services.append(InProcessListenerService(listener: local, beforeShutdown: {}))
    }
    return services + [serving]
  }

  /// The API's service.
  private var serving: any Service {
    let beforeShutdown: @Sendable () -> Void = { [health, cluster, logs] in
      // Long-lived streams would hold graceful shutdown up: end them first.
      health.shutDown()
      cluster.closeSessions()
      logs.close()
      cluster.closeSubscriptions()
    }
    switch server {
    case .tcp(let server, _):
      return GRPCServerService(
        server: server,
        endpoint: "\(configuration.host):\(configuration.port)",
        beforeShutdown: beforeShutdown
      )
    case .inProcess(let listener):
      return InProcessListenerService(listener: listener, beforeShutdown: beforeShutdown)
    }
  }

  /// A client connection in this process: pass it to a `GRPCClient`. Its calls pass the
  /// interceptors TCP calls pass (authentication first), as unit tests and the HTTP side's
  /// MCP endpoint need.
  /// - Throws: `unavailable` once the orchestrator shut down.
  public func connectInProcess() throws(OrchionError) -> InProcessTransport.Client {
    switch server {
    case .inProcess(let listener), .tcp(_, local: let listener): try listener.connect()
    }
  }

  private var recovery: Recovery {
    Recovery(
      store: store,
      cluster: cluster,
      logs: logs,
      tokens: tokens,
      secrets: secrets
    )
  }

  /// On the first start of a cluster (no token stored, none configured): makes an admin and a
  /// join token, lets `handOut` keep them (files, client config), and only then keeps them in
  /// the store, both in one commit. So a crash anywhere in between leaves either no token (the
  /// next start makes new ones) or tokens someone holds — never stored tokens nobody has.
  /// - Returns: The tokens, or `nil` when tokens exist, authentication is off, or this
  ///   orchestrator does not lead.
  /// - Throws: What `handOut` throws (then nothing is stored), or when the store fails.
  public func bootstrapTokens(
    handOut: (BootstrapTokens) throws -> Void
  ) async throws -> BootstrapTokens? {
    guard let tokens, leadership.isLeader, tokens.isEmpty,
      configuration.authentication.adminTokens.isEmpty
    else { return nil }
    let admin = try tokens.mint(kind: .admin, ttl: nil, description: "created on first start")
    let join = try tokens.mint(kind: .join, ttl: nil, description: "created on first start")
    let created = BootstrapTokens(admin: admin.token, join: join.token)
    try handOut(created)
    try await tokens.keep([admin, join])
    logger.notice(
      "created the first admin and join tokens",
      metadata: [
        "orchion.token.admin": "\(admin.info.id)", "orchion.token.join": "\(join.info.id)",
      ]
    )
    return created
  }

  /// Makes and keeps a new join token, e.g. for `orchion up`'s own agent, which must not hold
  /// the admin token: the tasks it runs share its user.
  /// - Returns: The token, or `nil` when authentication is off or this orchestrator does not
  ///   lead.
  /// - Throws: When the store fails.
  public func mintJoinToken(description: String) async throws -> String? {
    guard let tokens, leadership.isLeader else { return nil }
    let join = try tokens.mint(kind: .join, ttl: nil, description: description)
    try await tokens.keep([join])
    return join.token
  }

  /// How sessions learn what their token grants now; `nil` without authentication.
  private static func dashboardAccess(
    of tokens: TokenRegistry?
  ) -> (@Sendable (String) -> DashboardSessions.Access?)? {
    guard let tokens else { return nil }
    return { id in tokens.dashboardAccess(tokenID: id) }
  }

  /// What an HTTP caller presenting `authorization` (`Bearer <token>`) may do: the dashboard's
  /// and `/metrics`' alternative to a session cookie, for scripts. Admin tokens act; read
  /// tokens look; anything else is refused. Without authentication every caller is an admin.
  /// Failures count against `address` as on the gRPC port: past the limit the address is
  /// refused before any token is looked at.
  public func httpAccess(authorization: String?, from address: String) async -> HTTPAccess {
    guard let tokens else { return .granted(.admin) }
    guard !failedAuthentications.isExhausted(address) else {
      return .limited(
        "too many failed authentications from \(address) (\(failedAuthentications.description)); retry later with a valid token"
      )
    }
    switch try? await tokens.authenticate(authorization) {
    case .admin, .unauthenticated: return .granted(.admin)
    case .read: return .granted(.read)
    case .join, .task, .agent: return .refused  // a real token, of a kind the HTTP side does not take
    case nil:
      _ = failedAuthentications.admit(address)
      return .refused
    }
  }

  /// What a bearer token on the HTTP port gets.
  public enum HTTPAccess: Sendable, Equatable {
    case granted(DashboardSessions.Access)
    /// Missing, unknown, revoked or expired, or a kind the HTTP side does not take.
    case refused
    /// The caller's address failed too often; the message says so.
    case limited(String)
  }

  /// Where clients reach this orchestrator: `--advertise-address`, else host:port.
  private var advertisedAddress: String {
    configuration.advertisedAddress.isEmpty
      ? "\(configuration.host):\(configuration.port)" : configuration.advertisedAddress
  }

  /// The port the server listens on, once it is bound.
  /// - Throws: When the server failed to bind or has stopped.
  public func listeningPort() async throws -> Int {
    guard case .tcp(let server, _) = server else {
      throw OrchionError.failedPrecondition("this orchestrator listens in process, not on TCP")
    }
    let address = try await server.transport.listeningAddress
    guard let port = address.ipv4?.port ?? address.ipv6?.port else {
      throw OrchionError(
        code: .internalError,
        message: "server is not listening on TCP: \(address)"
      )
    }
    if configuration.advertisedAddress.isEmpty, configuration.port == 0 {
      // Port 0: tasks learn the port the system picked.
      let host = address.ipv6 != nil ? "[\(configuration.host)]" : configuration.host
      taskAddress.value.withLock { $0 = "\(host):\(port)" }
    }
    return port
  }

  /// A string behind a lock, shareable by the closures that read it.
  private final class TaskAddress: Sendable {
    let value: Mutex<String>
    init(_ value: String) { self.value = Mutex(value) }
  }

  private static func socketAddress(host: String, port: Int) -> GRPCNIOTransportCore.SocketAddress {
    let numeric = host == "localhost" ? "127.0.0.1" : host
    return numeric.contains(":")
      ? .ipv6(host: numeric, port: port) : .ipv4(host: numeric, port: port)
  }
}
