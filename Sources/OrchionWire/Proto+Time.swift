import OrchionAPI
public import OrchionCore
public import SwiftProtobuf

extension Google_Protobuf_Timestamp {
  public init(_ instant: UTCInstant) {
    let (seconds, nanos) = instant.secondsAndNanos
    self.init(seconds: seconds, nanos: nanos)
  }
}

extension Google_Protobuf_Duration {
  public init(_ duration: Duration) {
    let nanoseconds = duration.nanoseconds
    self.init(seconds: nanoseconds / 1_000_000_000, nanos: Int32(nanoseconds % 1_000_000_000))
  }
}

extension Duration {
  /// The duration a protobuf `Duration` carries, refusing negative or malformed values.
  /// - Parameter field: The field name for error messages.
  public init(validating proto: Google_Protobuf_Duration, field: String) throws(OrchionError) {
    guard proto.seconds >= 0, proto.nanos >= 0, proto.nanos < 1_000_000_000 else {
      throw .invalidArgument(field: field, "\(field): must be a non-negative duration")
    }
    guard proto.seconds <= 100 * 365 * 86_400 else {
      throw .invalidArgument(field: field, "\(field): at most 100 years")
    }
    self = .seconds(proto.seconds) + .nanoseconds(Int64(proto.nanos))
  }
}

extension Duration {
  /// A setting the orchestrator sends its agents (heartbeat interval, fencing delay, a task's
  /// timeout): the duration it carries, or `fallback` when that is zero, negative or malformed
  /// — an agent keeps a working default rather than refusing its orchestrator.
  public init(_ proto: Google_Protobuf_Duration, default fallback: Duration) {
    guard let value = try? Duration(validating: proto, field: "duration"), value > .zero else {
      self = fallback
      return
    }
    self = value
  }
}

extension UTCInstant {
  /// The instant a protobuf `Timestamp` from an untrusted sender carries.
  /// - Parameter field: The field name for error messages.
  /// - Throws: `invalidArgument` when the nanoseconds are outside 0–999,999,999 or the
  ///   instant is outside what nanoseconds since 1970 in an `Int64` hold (years 1678–2262):
  ///   rejected, not clamped.
  public init(validating timestamp: Google_Protobuf_Timestamp, field: String) throws(OrchionError) {
    guard (0..<1_000_000_000).contains(timestamp.nanos) else {
      throw .invalidArgument(
        field: "\(field).nanos",
        "\(field).nanos: \(timestamp.nanos) is outside 0-999999999"
      )
    }
    // In 128 bits, where neither step can overflow: the earliest instant an Int64 holds has
    // seconds whose product alone would not fit in 64 bits, though the sum does.
    let total = Int128(timestamp.seconds) * 1_000_000_000 + Int128(timestamp.nanos)
    guard let nanoseconds = Int64(exactly: total) else {
      throw .invalidArgument(
        field: "\(field).seconds",
        "\(field).seconds: \(timestamp.seconds) is outside years 1678-2262"
      )
    }
    self.init(nanosecondsSinceEpoch: nanoseconds)
  }
}
