import OrchionCore
import Testing

@Suite("UTCInstant")
struct UTCInstantTests {
  @Test("arithmetic round-trips and saturates instead of trapping")
  func arithmetic() {
    let instant = UTCInstant(nanosecondsSinceEpoch: 1_500_000_000)
    #expect(instant.advanced(by: .seconds(1)).nanosecondsSinceEpoch == 2_500_000_000)
    #expect(instant.duration(to: instant.advanced(by: .milliseconds(3))) == .milliseconds(3))
    #expect(instant.advanced(by: .seconds(Int64.max)).nanosecondsSinceEpoch == .max)
    #expect(
      UTCInstant(nanosecondsSinceEpoch: .min).duration(to: .init(nanosecondsSinceEpoch: .max))
        > .zero
    )
  }

  @Test("splits into seconds and non-negative nanos, also before the epoch")
  func secondsAndNanos() {
    #expect(UTCInstant(nanosecondsSinceEpoch: 1_500_000_000).secondsAndNanos == (1, 500_000_000))
    #expect(UTCInstant(nanosecondsSinceEpoch: -500_000_000).secondsAndNanos == (-1, 500_000_000))
  }

  @Test("the system clock reads wall time and moves forward")
  func systemClock() {
    let clock = SystemClock()
    let first = clock.now
    // 2024-01-01 < now < 2100-01-01
    #expect(first.nanosecondsSinceEpoch > 1_704_067_200_000_000_000)
    #expect(first.nanosecondsSinceEpoch < 4_102_444_800_000_000_000)
    #expect(clock.now >= first)
  }
}
