import GRPCCore
import GRPCNIOTransportHTTP2
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionTestSupport
import SwiftProtobuf
import Testing

/// Records the `authorization` header of every RPC.
private struct RecordingInterceptor: ServerInterceptor {
  let seen: MutexBox<[String]>

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let value = request.metadata[stringValues: "authorization"].first(where: { _ in true }) ?? ""
    seen.withLock { $0.append(value) }
    return try await next(request, context)
  }
}

private struct AlwaysServing: Grpc_Health_V1_Health.SimpleServiceProtocol {
  func check(
    request: Grpc_Health_V1_HealthCheckRequest,
    context: ServerContext
  ) async throws -> Grpc_Health_V1_HealthCheckResponse {
    .with { $0.status = .serving }
  }

  func watch(
    request: Grpc_Health_V1_HealthCheckRequest,
    response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
    context: ServerContext
  ) async throws {}
}

@Suite("OrchionClient")
struct BearerTokenInterceptorTests {
  @Test("a client made with a token presents `authorization: Bearer <token>` on every RPC")
  func presentsToken() async throws {
    let seen = MutexBox<[String]>([])
    let server = GRPCServer(
      transport: .http2NIOPosix(
        address: .ipv4(host: "127.0.0.1", port: 0),
        transportSecurity: .plaintext
      ),
      services: [AlwaysServing()],
      interceptors: [RecordingInterceptor(seen: seen)]
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let port = try await server.transport.listeningAddress.ipv4?.port ?? 0
      let address = ServerAddress(host: "127.0.0.1", port: port)
      try await withOrchionClient(server: address, token: "s3cret") { client in
        _ = try await client.health.check(.init())
        _ = try await client.health.check(.init())
      }
      try await withOrchionClient(server: address) { client in
        _ = try await client.health.check(.init())
      }
      server.beginGracefulShutdown()
      try await group.waitForAll()
    }
    #expect(seen.withLock { $0 } == ["Bearer s3cret", "Bearer s3cret", ""])
  }
}
