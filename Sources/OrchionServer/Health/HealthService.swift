import GRPCCore
import OrchionAPI
import SwiftProtobuf

/// `grpc.health.v1.Health` on the orchestrator's port, so standard probes
/// (`grpc_health_probe`, Kubernetes gRPC probes) work.
struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
  let board: HealthStatusBoard

  func check(
    request: Grpc_Health_V1_HealthCheckRequest,
    context: ServerContext
  ) async throws -> Grpc_Health_V1_HealthCheckResponse {
    guard let status = board.status(of: request.service) else {
      throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
    }
    return .with { $0.status = .init(status) }
  }

  func watch(
    request: Grpc_Health_V1_HealthCheckRequest,
    response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
    context: ServerContext
  ) async throws {
    let (statuses, finish) = board.watch(request.service)
    // grpc-swift does not cancel a handler when its client leaves: end the stream ourselves.
    try await withRPCCancellationHandler {
      for await status in statuses {
        try await response.write(.with { $0.status = .init(status) })
      }
    } onCancelRPC: {
      finish()
    }
  }
}

extension Grpc_Health_V1_HealthCheckResponse.ServingStatus {
  init(_ status: HealthStatusBoard.Status) {
    switch status {
    case .serving: self = .serving
    case .notServing: self = .notServing
    case .serviceUnknown: self = .serviceUnknown
    }
  }
}
