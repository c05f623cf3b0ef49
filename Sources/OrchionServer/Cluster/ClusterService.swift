import ServiceLifecycle

/// Runs the cluster's scheduling loop and its timers (retry delays, drain deadlines) as a
/// service.
struct ClusterService: Service {
  let cluster: Cluster

  func run() async throws {
    await withGracefulShutdownHandler {
      await withDiscardingTaskGroup { group in
        group.addTask { await cluster.runTimerLoop() }
        await cluster.runSchedulingLoop()
        // The scheduling loop ends on shutdown: the timers go with it.
        group.cancelAll()
      }
    } onGracefulShutdown: {
      cluster.stopScheduling()
    }
  }
}
