/// A point in time, in nanoseconds since the Unix epoch.
///
/// Orchion's clocks produce these so that one value serves both purposes a control plane needs:
/// ordering deadlines (it behaves as an `InstantProtocol`) and showing wall-clock timestamps in
/// the API. Arithmetic saturates instead of trapping, so a hostile duration cannot crash the
/// process.
public struct UTCInstant: InstantProtocol, Hashable, Sendable, CustomStringConvertible {
  /// Nanoseconds since 1970-01-01T00:00:00Z.
  public var nanosecondsSinceEpoch: Int64

  /// Creates an instant.
  /// - Parameter nanosecondsSinceEpoch: Nanoseconds since 1970-01-01T00:00:00Z.
  public init(nanosecondsSinceEpoch: Int64) {
    self.nanosecondsSinceEpoch = nanosecondsSinceEpoch
  }

  /// The Unix epoch.
  public static let epoch = UTCInstant(nanosecondsSinceEpoch: 0)

  public func advanced(by duration: Duration) -> UTCInstant {
    let (sum, overflow) = nanosecondsSinceEpoch.addingReportingOverflow(duration.nanoseconds)
    if overflow { return UTCInstant(nanosecondsSinceEpoch: duration > .zero ? .max : .min) }
    return UTCInstant(nanosecondsSinceEpoch: sum)
  }

  public func duration(to other: UTCInstant) -> Duration {
    let (difference, overflow) = other.nanosecondsSinceEpoch.subtractingReportingOverflow(
      nanosecondsSinceEpoch
    )
    if overflow { return other > self ? .nanoseconds(Int64.max) : .nanoseconds(Int64.min) }
    return .nanoseconds(difference)
  }

  public static func < (lhs: UTCInstant, rhs: UTCInstant) -> Bool {
    lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
  }

  /// Whole seconds since the epoch and the nanoseconds past them (always 0..<1e9).
  public var secondsAndNanos: (seconds: Int64, nanos: Int32) {
    // From the remainder, not by multiplying the seconds back: for the earliest instants the
    // product would overflow (and trap) though the answer fits.
    let seconds = nanosecondsSinceEpoch / 1_000_000_000
    let remainder = nanosecondsSinceEpoch % 1_000_000_000
    if remainder < 0 { return (seconds - 1, Int32(remainder + 1_000_000_000)) }
    return (seconds, Int32(remainder))
  }

  public var description: String { "\(nanosecondsSinceEpoch)ns" }
}

extension Duration {
  /// The duration in whole nanoseconds, saturating at the bounds of `Int64`.
  public var nanoseconds: Int64 {
    let (seconds, attoseconds) = components
    let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    if overflow { return seconds < 0 ? .min : .max }
    let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
    if overflow2 { return seconds < 0 ? .min : .max }
    return sum
  }

  /// The duration in seconds as a floating-point number, for display and rates.
  public var seconds: Double {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}
