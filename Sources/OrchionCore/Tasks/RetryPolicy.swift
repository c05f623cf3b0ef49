/// When a failed attempt is tried again, and after how long.
///
/// Delays grow exponentially — `backoff`, then twice that, four times, … — and stop growing at
/// `maxBackoff`, as Kubernetes does for failed Jobs, so a task failing against a dead dependency
/// does not spin.
public struct RetryPolicy: Hashable, Sendable {
  /// Exit codes that retry; empty: every failure retries (non-zero exit, signal, timeout).
  public var exitCodes: Set<Int32>
  /// The delay before the first retry.
  public var backoff: Duration
  /// The longest delay.
  public var maxBackoff: Duration

  /// The delay before the first retry when a task does not say.
  public static let defaultBackoff = Duration.seconds(1)
  /// The longest delay when a task does not say.
  public static let defaultMaxBackoff = Duration.seconds(300)

  /// Creates a policy.
  public init(
    exitCodes: Set<Int32> = [],
    backoff: Duration = RetryPolicy.defaultBackoff,
    maxBackoff: Duration = RetryPolicy.defaultMaxBackoff
  ) {
    self.exitCodes = exitCodes
    self.backoff = backoff
    self.maxBackoff = maxBackoff
  }

  /// Whether a failure with `exitCode` (nil: killed by a signal or a timeout) may be retried.
  public func retries(exitCode: Int32?) -> Bool {
    guard !exitCodes.isEmpty else { return true }
    return exitCode.map(exitCodes.contains) ?? false
  }

  /// The delay before retry number `retry` (1 for the first).
  public func delay(beforeRetry retry: Int32) -> Duration {
    var delay = backoff
    var doublings = max(0, retry - 1)
    while doublings > 0, delay < maxBackoff {
      delay *= 2
      doublings -= 1
    }
    return min(delay, maxBackoff)
  }
}
