import Foundation
import GRPCCore
import GRPCInProcessTransport
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOSSL
import OrchionClient
public import OrchionCore
import OrchionMCP
public import OrchionServer
public import ServiceLifecycle
import Synchronization

/// The orchestrator's HTTP server (Hummingbird): dashboard, login, `/metrics`, `/healthz`,
/// `/readyz`. It runs as one of the orchestrator's services — put it last, so a graceful
/// shutdown stops it (and ends its live streams) before the API and the store go.
public final class WebServer: Service, Sendable {
  public let configuration: WebConfiguration
  /// Where `/metrics` reads from; give its ``MetricsExporter/factory`` to the orchestrator.
  public let exporter: MetricsExporter
  private let orchestrator: Orchestrator
  private let clock: any WallClock
  private let logger: Logger
  private let bound = Mutex<BoundState>(.waiting([]))

  private enum BoundState {
    case waiting([CheckedContinuation<Int, any Error>])
    case listening(Int)
    case failed(String)
  }

  public init(
    orchestrator: Orchestrator,
    configuration: WebConfiguration,
    exporter: MetricsExporter,
    clock: any WallClock = SystemClock(),
    logger: Logger
  ) {
    self.orchestrator = orchestrator
    self.configuration = configuration
    self.exporter = exporter
    self.clock = clock
    self.logger = logger
  }

  public func run() async throws {
    // /mcp's tools call the API in process, each with its caller's token (CallerAuthorization).
    let api = GRPCClient(
      transport: try orchestrator.connectInProcess(),
      interceptors: [CallerAuthorizationInterceptor()]
    )
    let toolbox = OrchionToolbox(client: OrchionClient(grpc: api))
    let mcpSessions = MCPHTTPSessions { authorization in
      await OrchionMCPServer.make(toolbox: toolbox, authorization: authorization, version: OrchionVersion.current)
    }
    let router = Router(context: WebRequestContext.self)
    WebRoutes(
      orchestrator: orchestrator,
      configuration: configuration,
      exporter: exporter,
      clock: clock,
      downloads: Downloads(distDirectory: configuration.install.distDirectory),
      mcpSessions: mcpSessions
    ).register(on: router)
    let server: HTTPServerBuilder
    do {
      server = try configuration.tls.map { try .tls(.http1(), tlsConfiguration: Self.tlsConfiguration($0)) } ?? .http1()
    } catch {
      fail("TLS for the HTTP port: \(error)")
      throw OrchionError.failedPrecondition("cannot serve HTTPS: \(error)")
    }
    let application = Application(
      router: router,
      server: server,
      configuration: .init(
        address: .hostname(configuration.host, port: configuration.port),
        serverName: nil
      ),
      onServerRunning: { [weak self] channel in
        guard let self, let port = channel.localAddress?.port else { return }
        self.listening(on: port)
      },
      logger: Self.quieter(logger)
    )
    do {
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await api.runConnections() }
        defer { api.beginGracefulShutdown() }
        try await withGracefulShutdownHandler {
          try await application.run()
        } onGracefulShutdown: {
          // Sessions' open streams (a client's GET stream) end now, not at the grace's end.
          Task { await mcpSessions.closeAll() }
        }
      }
    } catch {
      fail("\(error)")
      throw OrchionError.unavailable(
        "the HTTP server (dashboard, /metrics) cannot serve on \(configuration.host):\(configuration.port): \(error) — choose another --http-port, or --http-port off"
      )
    }
    fail("the HTTP server stopped")
  }

  /// The port the HTTP server listens on, once it is bound.
  /// - Throws: When it could not bind, or stopped.
  public func listeningPort() async throws -> Int {
    try await withCheckedThrowingContinuation { continuation in
      let ready: Result<Int, any Error>? = bound.withLock { state in
        switch state {
        case .waiting(var waiters):
          waiters.append(continuation)
          state = .waiting(waiters)
          return nil
        case .listening(let port): return .success(port)
        case .failed(let reason):
          return .failure(OrchionError.unavailable("the HTTP server is not listening: \(reason)"))
        }
      }
      if let ready { continuation.resume(with: ready) }
    }
  }

  private func listening(on port: Int) {
    let scheme = configuration.tls == nil ? "http" : "https"
    let host = ["0.0.0.0", "::"].contains(configuration.host) ? "127.0.0.1" : configuration.host
    let printable = host.contains(":") ? "[\(host)]" : host
    orchestrator.sessions.dashboardURL = "\(scheme)://\(printable):\(port)"
    let waiters = bound.withLock { state -> [CheckedContinuation<Int, any Error>] in
      guard case .waiting(let waiters) = state else { return [] }
      state = .listening(port)
      return waiters
    }
    for waiter in waiters { waiter.resume(returning: port) }
  }

  private func fail(_ reason: String) {
    let waiters = bound.withLock { state -> [CheckedContinuation<Int, any Error>] in
      guard case .waiting(let waiters) = state else {
        state = .failed(reason)
        return []
      }
      state = .failed(reason)
      return waiters
    }
    for waiter in waiters {
      waiter.resume(throwing: OrchionError.unavailable("the HTTP server is not listening: \(reason)"))
    }
  }

  /// Hummingbird's own logger: its start-up line ("listening on …", at info) would be read as
  /// the API's address by scripts that wait for ours; what it says at notice and above stays.
  private static func quieter(_ logger: Logger) -> Logger {
    var logger = logger
    if logger.logLevel < .notice { logger.logLevel = .notice }
    return logger
  }

  /// The gRPC port's certificate and key, and its client CA for mutual TLS.
  static func tlsConfiguration(_ tls: ServerTLS) throws -> TLSConfiguration {
    let chain = try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
    let key = try NIOSSLPrivateKey(file: tls.keyPath, format: .pem)
    var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
    if let clientCA = tls.clientCAPath {
      configuration.trustRoots = .file(clientCA)
      configuration.certificateVerification = .fullVerification
    }
    return configuration
  }
}
