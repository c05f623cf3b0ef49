import ServiceLifecycle

/// Runs the dispatcher's scheduling loop as a service.
struct DispatcherService: Service {
  let dispatcher: TaskDispatcher

  func run() async throws {
    await withGracefulShutdownHandler {
      await dispatcher.runSchedulingLoop()
    } onGracefulShutdown: {
      dispatcher.stopScheduling()
    }
  }
}
