import OrchionAPI
import OrchionCore
import OrchionTestSupport
import OrchionWire
import SwiftProtobuf
import Testing

@Suite("Wire conversions: timestamps and durations")
struct ProtoTimeTests {
  @Test(
    "an instant survives the trip through a Timestamp, before 1970 too",
    arguments: [
      Int64(0), 1, 999_999_999, 1_000_000_000, 1_764_633_600_123_456_789, -1, -1_000_000_001,
      Int64.max, Int64.min,
    ]
  )
  func instantRoundTrip(nanoseconds: Int64) throws {
    let instant = UTCInstant(nanosecondsSinceEpoch: nanoseconds)
    let timestamp = Google_Protobuf_Timestamp(instant)
    // Protobuf's rule: nanos count forward from the second, even before the epoch.
    #expect((0..<1_000_000_000).contains(timestamp.nanos))
    #expect(try UTCInstant(validating: timestamp, field: "at") == instant)
    #expect(UTCInstant(timestamp) == instant)
  }

  @Test(
    "a hostile Timestamp is refused naming its part, never trapped on",
    arguments: [
      (Int64(0), Int32(-1), "at.nanos"), (0, 1_000_000_000, "at.nanos"),
      (0, .min, "at.nanos"), (.max, 0, "at.seconds"), (.min, 0, "at.seconds"),
      (9_223_372_037, 0, "at.seconds"), (-9_223_372_037, 0, "at.seconds"),
    ]
  )
  func hostileTimestamp(seconds: Int64, nanos: Int32, field: String) {
    let timestamp = Google_Protobuf_Timestamp(seconds: seconds, nanos: nanos)
    expectInvalid(field: field) { try UTCInstant(validating: timestamp, field: "at") }
  }

  @Test("a stored Timestamp (trusted) is read without trapping, whatever it holds")
  func storedTimestampNeverTraps() {
    for (seconds, nanos) in [(Int64.max, Int32.max), (.min, .min), (.max, .min)] {
      _ = UTCInstant(Google_Protobuf_Timestamp(seconds: seconds, nanos: nanos))
    }
  }

  @Test(
    "a Duration survives the trip, and one too long for the wire saturates instead of trapping"
  )
  func durationRoundTrip() throws {
    for duration in [Duration.zero, .nanoseconds(1), .milliseconds(1500), .seconds(86_400 * 365)] {
      let proto = Google_Protobuf_Duration(duration)
      #expect(try Duration(validating: proto, field: "d") == duration)
    }
    let huge = Google_Protobuf_Duration(.seconds(Int64.max))
    #expect(huge.seconds == Int64.max / 1_000_000_000)
    #expect((0..<1_000_000_000).contains(huge.nanos))
  }

  @Test(
    "a negative, malformed or century-long Duration is refused naming the field",
    arguments: [
      (Int64(-1), Int32(0)), (0, -1), (0, 1_000_000_000), (100 * 365 * 86_400 + 1, 0),
      (.max, 0), (.min, .min),
    ]
  )
  func hostileDuration(seconds: Int64, nanos: Int32) {
    let proto = Google_Protobuf_Duration(seconds: seconds, nanos: nanos)
    expectInvalid(field: "spec.timeout") { try Duration(validating: proto, field: "spec.timeout") }
  }
}

@Suite("Wire conversions: settings an agent is sent")
struct ProtoSettingTests {
  @Test("a setting is its duration, or the fallback when it is zero, negative or malformed")
  func settingWithFallback() {
    let fallback = Duration.seconds(10)
    #expect(
      Duration(.init(seconds: 2, nanos: 500_000_000), default: fallback) == .milliseconds(2500)
    )
    #expect(Duration(.init(), default: fallback) == fallback)
    #expect(Duration(.init(seconds: -1, nanos: 0), default: fallback) == fallback)
    #expect(Duration(.init(seconds: 0, nanos: -5), default: fallback) == fallback)
    #expect(Duration(.init(seconds: .max, nanos: .max), default: fallback) == fallback)
  }
}
