import OrchionStore
import ServiceLifecycle

/// Runs the journal until shutdown, then writes what is still queued.
struct JournalService: Service {
  let journal: Journal

  func run() async throws {
    // Graceful shutdown, or cancellation when another service failed (a port in use): either
    // way what is queued is written, then the loop ends.
    await withTaskCancellationHandler {
      await withGracefulShutdownHandler {
        await journal.run()
      } onGracefulShutdown: {
        journal.close()
      }
    } onCancel: {
      journal.close()
    }
    // The store refused for good: end the process through the group's failure path.
    if let failure = journal.failure { throw failure }
  }
}

/// Closes the store once every other service has stopped (it is first in the list, so the
/// group shuts it down last): the journal's last commits and the lease's release need it.
struct StoreService: Service {
  let store: any Store

  func run() async throws {
    try? await gracefulShutdown()
    await store.close()
  }
}
