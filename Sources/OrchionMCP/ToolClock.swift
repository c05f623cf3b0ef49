/// What the tools wait with: `wait_tasks` and `receive_messages` poll and time out on it, and
/// tests pass one they advance.
public protocol ToolClock: Sendable {
  /// Monotonic time since some fixed point.
  func now() -> Duration
  func sleep(for duration: Duration) async throws
}

/// The system's monotonic clock.
public struct ContinuousToolClock: ToolClock {
  private let start = ContinuousClock.now

  public init() {}

  public func now() -> Duration { ContinuousClock.now - start }

  public func sleep(for duration: Duration) async throws {
    try await Task.sleep(for: duration)
  }
}
