public import GRPCCore
public import GRPCNIOTransportHTTP2
public import OrchionAPI
public import OrchionCore

/// A typed client for an Orchion orchestrator, over any gRPC transport: HTTP/2 on TCP
/// (``OrchionNetworkClient``, what ``withOrchionClient(server:token:tls:_:)`` gives), or an
/// in-process one in tests.
///
/// ```swift
/// try await withOrchionClient(server: ServerAddress(parsing: "127.0.0.1:50051")) { client in
///   let nodes = try await client.nodes.listNodes(.init()).nodes
/// }
/// ```
public struct OrchionClient<Transport: ClientTransport>: Sendable {
  /// The underlying gRPC client.
  public let grpc: GRPCClient<Transport>
  /// `orchion.v1.NodeService`.
  public var nodes: Orchion_V1_NodeService.Client<Transport> {
    .init(wrapping: grpc)
  }
  /// `orchion.v1.TaskService`.
  public var tasks: Orchion_V1_TaskService.Client<Transport> {
    .init(wrapping: grpc)
  }
  /// `orchion.v1.TokenService`.
  public var tokens: Orchion_V1_TokenService.Client<Transport> {
    .init(wrapping: grpc)
  }
  /// `orchion.v1.SecretService`.
  public var secrets: Orchion_V1_SecretService.Client<Transport> {
    .init(wrapping: grpc)
  }
  /// `grpc.health.v1.Health`.
  public var health: Grpc_Health_V1_Health.Client<Transport> {
    .init(wrapping: grpc)
  }

  /// Wraps a running gRPC client.
  public init(grpc: GRPCClient<Transport>) {
    self.grpc = grpc
  }
}

/// A client over the network: HTTP/2 on TCP, with TLS or not.
public typealias OrchionNetworkClient = OrchionClient<HTTP2ClientTransport.Posix>

extension OrchionClient where Transport == HTTP2ClientTransport.Posix {
  /// A gRPC client for `server`, not yet running: run its `runConnections()` in a task.
  /// - Parameters:
  ///   - server: The orchestrator's address.
  ///   - token: A token to present on every RPC (`authorization: Bearer`), if any.
  ///   - tls: How to secure the connection; `nil` for plaintext.
  ///   - interceptors: More interceptors, after the token's.
  public static func makeGRPCClient(
    server: ServerAddress,
    token: String? = nil,
    tls: ClientTLS? = nil,
    interceptors: [any ClientInterceptor] = []
  ) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
    // A literal IP is dialled as one (no SNI, the certificate is checked against the address);
    // a name is resolved, and the certificate must carry it.
    let target: any ResolvableTarget =
      if server.host.contains(":") {
        ResolvableTargets.IPv6.ipv6(address: server.host, port: server.port)
      } else if server.host.split(separator: ".").count == 4,
        server.host.allSatisfy({ $0 == "." || $0.isNumber })
      {
        ResolvableTargets.IPv4.ipv4(address: server.host, port: server.port)
      } else {
        ResolvableTargets.DNS.dns(host: server.host, port: server.port)
      }
    let transport = try HTTP2ClientTransport.Posix(
      target: target,
      transportSecurity: tls?.transportSecurity ?? .plaintext
    )
    let all: [any ClientInterceptor] =
      (token.map { [BearerTokenInterceptor(token: $0)] } ?? []) + interceptors
    return GRPCClient(transport: transport, interceptors: all)
  }
}

/// Connects to `server`, runs `body` with a client, and closes the connection after it.
/// - Parameters:
///   - server: The orchestrator's address.
///   - token: A token to present on every RPC, if any.
///   - tls: How to secure the connection; `nil` for plaintext.
///   - body: What to do with the client.
public func withOrchionClient<Result: Sendable>(
  server: ServerAddress,
  token: String? = nil,
  tls: ClientTLS? = nil,
  _ body: (OrchionNetworkClient) async throws -> Result
) async throws -> Result {
  let grpc = try OrchionNetworkClient.makeGRPCClient(server: server, token: token, tls: tls)
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await grpc.runConnections() }
    defer { grpc.beginGracefulShutdown() }
    return try await body(OrchionClient(grpc: grpc))
  }
}
