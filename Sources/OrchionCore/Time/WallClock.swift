/// A clock whose instants are wall-clock based ``UTCInstant``s.
///
/// Everything in Orchion that waits on time or stamps a time takes one of these, so that tests
/// can substitute a manual clock and advance it instead of sleeping.
///
/// ```swift
/// let registry = NodeRegistry(configuration: .defaults, clock: SystemClock())
/// ```
public protocol WallClock: Clock, Sendable where Instant == UTCInstant {}
