import Logging
import ServiceLifecycle

/// A service that logs when it is asked to stop and when it has stopped (or was cancelled), so a
/// shutdown that overruns its grace names the part that lingered instead of ending in
/// ServiceLifecycle's bare "Cancellation took longer than allowed".
struct ObservedService: Service {
  let service: any Service
  let logger: Logger

  /// The wrapped service's type name, e.g. `JournalService`.
  var name: String { String(describing: type(of: service)) }

  func run() async throws {
    let metadata: Logger.Metadata = ["orchion.service": "\(name)"]
    do {
      try await withTaskCancellationHandler {
        try await withGracefulShutdownHandler {
          try await service.run()
        } onGracefulShutdown: {
          logger.info("service stopping", metadata: metadata)
        }
      } onCancel: {
        logger.notice("service cancelled", metadata: metadata)
      }
      logger.info("service stopped", metadata: metadata)
    } catch {
      logger.info("service stopped", metadata: metadata.merging(["error": "\(error)"]) { $1 })
      throw error
    }
  }
}
