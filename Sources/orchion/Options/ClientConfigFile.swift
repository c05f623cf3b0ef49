import Foundation
import Logging
import OrchionCore

/// The client config file, `~/.orchion/config`: `key = value` lines that `orchion server` and
/// `orchion up` write so the local CLI finds them without flags.
struct ClientConfigFile: Equatable {
  /// The orchestrator address, HOST:PORT.
  var server: String?
  /// The token the CLI presents.
  var token: String?

  /// The file's path: `$ORCHION_CONFIG`, else `~/.orchion/config`.
  static var path: String {
    if let path = ProcessInfo.processInfo.environment["ORCHION_CONFIG"] { return path }
    return (DataDirectory.defaultPath as NSString).appendingPathComponent("config")
  }

  /// Reads the file; `nil` when it does not exist or cannot be read.
  static func load(from path: String = ClientConfigFile.path) -> ClientConfigFile? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return parse(text)
  }

  /// Parses `key = value` lines; `#` starts a comment; unknown keys are ignored.
  static func parse(_ text: String) -> ClientConfigFile {
    var config = ClientConfigFile()
    for line in text.split(whereSeparator: \.isNewline) {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
      let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
      let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      if key == "server" { config.server = value }
      if key == "token" { config.token = value }
    }
    return config
  }

  /// Writes the file with mode 0600, replacing it atomically.
  func save(to path: String = ClientConfigFile.path) throws {
    var text = "# Written by orchion; read by the orchion CLI.\n"
    if let server { text += "server = \(server)\n" }
    if let token { text += "token = \(token)\n" }
    let directory = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(
      atPath: directory,
      withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o700]
    )
    let temporary = path + ".tmp"
    guard
      FileManager.default.createFile(
        atPath: temporary,
        contents: Data(text.utf8),
        attributes: [.posixPermissions: 0o600]
      )
    else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
    }
    // rename(2) replaces atomically: a reader sees the old file or the new one, never half.
    guard rename(temporary, path) == 0 else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
  }

  /// Records `server` in the client config so the local CLI finds it; a failure is logged,
  /// not fatal (the server runs fine without it).
  static func record(server: ServerAddress, logger: Logger) {
    var config = load() ?? ClientConfigFile()
    config.server = "\(server)"
    do {
      try config.save()
    } catch {
      logger.warning("cannot write the client config", metadata: ["orchion.error": "\(error)"])
    }
  }
}
