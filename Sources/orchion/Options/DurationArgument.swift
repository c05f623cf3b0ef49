import ArgumentParser
import OrchionCore

/// A duration flag value: `500ms`, `30s`, `1m`, `1h30m`.
struct DurationArgument: ExpressibleByArgument, Sendable {
  let duration: Duration

  init?(argument: String) {
    guard let duration = try? DurationFormat.parse(argument) else { return nil }
    self.duration = duration
  }

  var defaultValueDescription: String { DurationFormat.format(duration) }

  init(_ duration: Duration) {
    self.duration = duration
  }
}
