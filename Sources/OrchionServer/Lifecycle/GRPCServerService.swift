import GRPCCore
import OrchionCore
import ServiceLifecycle

/// Runs a `GRPCServer` as a service: serves until the group shuts down, then stops taking new
/// RPCs and lets in-flight ones finish. The group's maximum graceful shutdown duration bounds
/// that wait; after it the group cancels this service, which stops the server at once.
struct GRPCServerService<Transport: ServerTransport>: Service {
  let server: GRPCServer<Transport>
  /// Where the server listens, for error messages.
  let endpoint: String
  /// Runs before the server stops taking RPCs, e.g. to turn health NOT_SERVING and end
  /// long-lived streams that would otherwise hold shutdown up.
  let beforeShutdown: @Sendable () -> Void

  func run() async throws {
    try await withGracefulShutdownHandler {
      do {
        try await server.serve()
      } catch let error as RuntimeError where error.code == .transportError {
        // Say what failed in one line ("Address already in use"), not a chain of wrappers.
        throw OrchionError.unavailable(
          "cannot serve on \(endpoint): \(error.cause.map { "\($0)" } ?? error.message)"
        )
      }
    } onGracefulShutdown: {
      beforeShutdown()
      server.beginGracefulShutdown()
    }
  }
}
