public import ArgumentParser
import OrchionCore

/// A duration flag value: `500ms`, `30s`, `1m`, `1h30m`.
public struct DurationArgument: ExpressibleByArgument, Sendable {
  public let duration: Duration

  public init?(argument: String) {
    guard let duration = try? DurationFormat.parse(argument) else { return nil }
    self.duration = duration
  }

  public var defaultValueDescription: String { DurationFormat.format(duration) }

  public init(_ duration: Duration) {
    self.duration = duration
  }
}
