import Foundation
public import Logging
import OrchionCore
import Synchronization

/// Logs one JSON object a line on standard error — `time` (RFC 3339, UTC, milliseconds),
/// `level`, `label`, `message`, then every metadata key as its own string field — for log
/// shippers (`--log-format json`). A metadata key that collides with one of the four is
/// prefixed with `metadata.`.
public struct JSONLogHandler: LogHandler {
  public var logLevel: Logger.Level = .info
  public var metadata: Logger.Metadata = [:]
  public var metadataProvider: Logger.MetadataProvider?
  private let label: String
  private static let output = Mutex<Void>(())

  public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
    self.label = label
    self.metadataProvider = metadataProvider
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var merged = metadata
    if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
    if let extra = event.metadata { merged.merge(extra) { $1 } }
    var line = "{\"time\":\(JSONText.quoted(Self.timestamp()))"
    line += ",\"level\":\(JSONText.quoted(event.level.rawValue))"
    line += ",\"label\":\(JSONText.quoted(label))"
    line += ",\"message\":\(JSONText.quoted(event.message.description))"
    let reserved: Set<String> = ["time", "level", "label", "message"]
    for key in merged.keys.sorted() {
      guard let value = merged[key] else { continue }
      let name = reserved.contains(key) ? "metadata." + key : key
      line += ",\(JSONText.quoted(name)):\(JSONText.quoted(value.description))"
    }
    line += "}\n"
    // One write per line, and one writer at a time: lines never interleave.
    Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
  }

  private static func timestamp() -> String {
    Date.now.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
  }
}
