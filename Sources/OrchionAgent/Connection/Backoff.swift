/// Capped exponential backoff with full jitter: after failure n the wait is uniform in
/// [0, min(cap, base·2ⁿ)], so agents that lost the same orchestrator do not return in lockstep.
struct Backoff: Sendable {
  let base: Duration
  let cap: Duration
  private(set) var failures = 0

  init(base: Duration = .milliseconds(100), cap: Duration) {
    self.base = base
    self.cap = cap
  }

  /// The wait before the next try, counting one more failure.
  mutating func next(using generator: inout some RandomNumberGenerator) -> Duration {
    let exponent = min(failures, 30)
    failures += 1
    let ceiling = min(cap, base * (1 << exponent))
    let nanoseconds = max(
      1,
      ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
    )
    return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
  }

  /// Starts over after a success.
  mutating func reset() {
    failures = 0
  }
}
