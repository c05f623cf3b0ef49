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
      throw .invalidArgument("\(field): must be a non-negative duration")
    }
    guard proto.seconds <= 100 * 365 * 86_400 else {
      throw .invalidArgument("\(field): at most 100 years")
    }
    self = .seconds(proto.seconds) + .nanoseconds(Int64(proto.nanos))
  }
}

extension UTCInstant {
  /// The instant a protobuf `Timestamp` from an untrusted sender carries.
  /// - Parameter field: The field name for error messages.
  /// - Throws: `invalidArgument` when the nanoseconds are outside 0–999,999,999 or the
  ///   instant is outside what nanoseconds since 1970 in an `Int64` hold (years 1678–2262):
  ///   rejected, not clamped.
  public init(validating timestamp: Google_Protobuf_Timestamp, field: String) throws(OrchionError)
  {
    guard (0..<1_000_000_000).contains(timestamp.nanos) else {
      throw .invalidArgument("\(field).nanos: \(timestamp.nanos) is outside 0-999999999")
    }
    let (scaled, overflow) = timestamp.seconds.multipliedReportingOverflow(by: 1_000_000_000)
    let (sum, carry) = scaled.addingReportingOverflow(Int64(timestamp.nanos))
    guard !overflow, !carry else {
      throw .invalidArgument(
        "\(field).seconds: \(timestamp.seconds) is outside years 1678-2262"
      )
    }
    self.init(nanosecondsSinceEpoch: sum)
  }
}
