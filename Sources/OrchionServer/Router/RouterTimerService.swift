import OrchionCore
import ServiceLifecycle

/// Runs the router's clock: redelivery after ack timeouts, TTL expiry, the end of
/// subscriptions whose attempt is over.
struct RouterTimerService: Service {
  let router: MailboxRouter
  /// The orchestrator's clock: tests advance a manual one and the next tick sees the new time.
  let clock: any WallClock
  /// How often; ack timeouts and TTLs are at least a second, so this is precise enough.
  var resolution = Duration.milliseconds(100)

  func run() async throws {
    await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        // The next tick is due a resolution after this one *began*: if the clock moved on
        // while this one ran (a test's advance), the sleep ends at once and the next tick
        // sees the new time, instead of sleeping a resolution past it.
        let started = clock.now
        router.tick()
        do {
          try await clock.sleep(until: started.advanced(by: resolution), tolerance: nil)
        } catch {
          return
        }
      }
    }
  }
}
