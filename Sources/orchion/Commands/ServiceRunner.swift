import Logging
import ServiceLifecycle
import UnixSignals

/// Runs a process's services in one `ServiceGroup` that shuts down gracefully on SIGTERM and
/// SIGINT, bounded by `shutdownGrace`.
enum ServiceRunner {
  /// Runs `services` until a signal stops them; runs `onStarted` alongside once.
  static func run(
    services: [any Service],
    shutdownGrace: Duration,
    logger: Logger,
    onStarted: @escaping @Sendable () async throws -> Void
  ) async throws {
    var configuration = ServiceGroupConfiguration(
      // A failing service (a port in use, a lost leader lease) shuts the others down gracefully:
      // streams end, what is queued is written (or refused by the store's fence), and the
      // process exits with that service's error.
      services: services.map {
        ServiceGroupConfiguration.ServiceConfiguration(
          service: ObservedService(service: $0, logger: logger),
          failureTerminationBehavior: .gracefullyShutdownGroup
        )
      },
      gracefulShutdownSignals: [.sigterm, .sigint],
      logger: logger
    )
    configuration.maximumGracefulShutdownDuration = shutdownGrace
    configuration.maximumCancellationDuration = .seconds(5)
    let group = ServiceGroup(configuration: configuration)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      tasks.addTask {
        // When starting fails (e.g. the port is taken) the failing service ends the group with
        // the real cause; this task only stops waiting.
        try? await onStarted()
      }
      try await tasks.waitForAll()
    }
  }
}
