import ServiceLifecycle

/// Runs the router's clock: redelivery after ack timeouts, TTL expiry, the end of
/// subscriptions whose attempt is over.
struct RouterTimerService: Service {
  let router: MailboxRouter
  /// How often; ack timeouts and TTLs are at least a second, so this is precise enough.
  var resolution = Duration.milliseconds(100)

  func run() async throws {
    await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        router.tick()
        try? await Task.sleep(for: resolution)
      }
    }
  }
}
