import OrchionCore
import Testing

@Suite("DurationFormat")
struct DurationFormatTests {
  @Test(
    "parses what people type",
    arguments: [
      ("500ms", Duration.milliseconds(500)), ("30s", .seconds(30)), ("1m", .seconds(60)),
      ("2h", .seconds(7200)), ("1m30s", .seconds(90)), ("0s", .zero), ("250us", .microseconds(250)),
      ("7ns", .nanoseconds(7)),
    ]
  )
  func parses(text: String, expected: Duration) throws {
    #expect(try DurationFormat.parse(text) == expected)
  }

  @Test(
    "refuses anything else with a message",
    arguments: ["", "30", "s", "1x", "-1s", "1.5s", "1 s", "99999999999h"]
  )
  func refuses(text: String) {
    let error = #expect(throws: OrchionError.self) { try DurationFormat.parse(text) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.isEmpty == false)
  }

  @Test(
    "formats compactly",
    arguments: [
      (Duration.milliseconds(250), "250ms"), (.seconds(30), "30s"), (.seconds(90), "1m30s"),
      (.seconds(7200), "2h"), (.zero, "0s"),
    ]
  )
  func formats(duration: Duration, expected: String) {
    #expect(DurationFormat.format(duration) == expected)
  }
}
