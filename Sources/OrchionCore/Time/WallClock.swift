/// A clock whose instants are wall-clock based ``UTCInstant``s.
///
/// Everything in Orchion that waits on time or stamps a time takes one of these, so that tests
/// can substitute a manual clock and advance it instead of sleeping.
///
/// ```swift
/// let clock: any WallClock = SystemClock()
/// let deadline = clock.now.advanced(by: .seconds(30))
/// ```
public protocol WallClock: Clock, Sendable where Instant == UTCInstant {}
