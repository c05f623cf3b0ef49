/// Parses and prints durations the way people write them on a command line:
/// `500ms`, `30s`, `1m`, `2h`, and combinations such as `1m30s`.
public enum DurationFormat {
  /// Parses a duration such as `500ms`, `30s`, `1m` or `1h30m`.
  /// - Parameter text: The text to parse. Units: `ns`, `us`, `ms`, `s`, `m`, `h`.
  /// - Returns: The duration, never negative.
  /// - Throws: ``OrchionError`` with code `invalidArgument` saying what is wrong.
  public static func parse(_ text: String) throws(OrchionError) -> Duration {
    let units: [(suffix: String, nanoseconds: Int64)] = [
      ("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
      ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]
    func invalid() -> OrchionError {
      .invalidArgument(
        "invalid duration '\(text)': expected a number and a unit (ms, s, m, h), e.g. 500ms, 30s, 1m"
      )
    }
    var rest = Substring(text)
    guard !rest.isEmpty else { throw invalid() }
    var total: Int64 = 0
    while !rest.isEmpty {
      let digits = rest.prefix { $0.isASCII && $0.isNumber }
      guard !digits.isEmpty, let value = Int64(digits) else { throw invalid() }
      rest = rest.dropFirst(digits.count)
      let unitText = rest.prefix { $0.isASCII && $0.isLetter }
      guard let unit = units.first(where: { $0.suffix == unitText }) else { throw invalid() }
      rest = rest.dropFirst(unitText.count)
      let (part, overflow) = value.multipliedReportingOverflow(by: unit.nanoseconds)
      let (sum, overflow2) = total.addingReportingOverflow(part)
      guard !overflow, !overflow2 else {
        throw .invalidArgument("invalid duration '\(text)': too long")
      }
      total = sum
    }
    return .nanoseconds(total)
  }

  /// Prints a duration compactly: `250ms`, `30s`, `1m30s`, `2h`.
  /// - Parameter duration: The duration to print.
  public static func format(_ duration: Duration) -> String {
    var nanoseconds = duration.nanoseconds
    if nanoseconds == 0 { return "0s" }
    var text = nanoseconds < 0 ? "-" : ""
    nanoseconds = nanoseconds.magnitude > Int64.max.magnitude ? .max : abs(nanoseconds)
    if nanoseconds < 1_000_000_000 {
      if nanoseconds % 1_000_000 == 0 { return text + "\(nanoseconds / 1_000_000)ms" }
      if nanoseconds % 1_000 == 0 { return text + "\(nanoseconds / 1_000)us" }
      return text + "\(nanoseconds)ns"
    }
    let hours = nanoseconds / 3_600_000_000_000
    let minutes = nanoseconds / 60_000_000_000 % 60
    let seconds = Double(nanoseconds % 60_000_000_000) / 1e9
    if hours > 0 { text += "\(hours)h" }
    if minutes > 0 { text += "\(minutes)m" }
    if seconds > 0 {
      text += seconds == seconds.rounded() ? "\(Int64(seconds))s" : "\(seconds)s"
    }
    return text
  }
}
