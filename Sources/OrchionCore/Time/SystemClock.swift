#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The production clock: wall time read once at creation, advanced by the monotonic clock.
///
/// Deadlines (heartbeat timeouts, task timeouts) must not jump when NTP or an operator steps the
/// system time, yet API timestamps must be wall-clock times. Anchoring a monotonic clock to the
/// wall time at start gives both; over a process lifetime the two differ only by the slew NTP
/// applies, which is small.
public struct SystemClock: WallClock {
  private let anchorWall: UTCInstant
  private let anchorMonotonic: ContinuousClock.Instant

  /// Creates a clock anchored to the current wall time.
  public init() {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    anchorWall = UTCInstant(
      nanosecondsSinceEpoch: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    )
    anchorMonotonic = ContinuousClock.now
  }

  public var now: UTCInstant {
    anchorWall.advanced(by: anchorMonotonic.duration(to: ContinuousClock.now))
  }

  public var minimumResolution: Duration { .nanoseconds(1) }

  public func sleep(until deadline: UTCInstant, tolerance: Duration?) async throws {
    try await ContinuousClock().sleep(for: now.duration(to: deadline), tolerance: tolerance)
  }
}
