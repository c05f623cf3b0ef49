import ServiceLifecycle

/// Runs the dispatcher's scheduling loop and its timers (retry delays, drain deadlines) as a
/// service.
struct DispatcherService: Service {
  let dispatcher: TaskDispatcher

  func run() async throws {
    await withGracefulShutdownHandler {
      await withDiscardingTaskGroup { group in
        group.addTask { await dispatcher.runTimerLoop() }
        await dispatcher.runSchedulingLoop()
        // The scheduling loop ends on shutdown: the timers go with it.
        group.cancelAll()
      }
    } onGracefulShutdown: {
      dispatcher.stopScheduling()
    }
  }
}
