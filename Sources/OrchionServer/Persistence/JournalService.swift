import OrchionStore
import ServiceLifecycle

/// Runs the journal until shutdown, then writes what is still queued and closes the store.
struct JournalService: Service {
  let journal: Journal
  let store: any Store

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
    await store.close()
    // The store refused for good: end the process through the group's failure path.
    if let failure = journal.failure { throw failure }
  }
}
