public import Foundation

/// Files only their owner may read: tokens, keys, credentials, the client config.
public enum PrivateFile {
  /// Writes `contents` to `path` with mode 0600, replacing any file there atomically (a reader
  /// sees the old file or the new one, never half), creating the directory 0700 if needed.
  public static func write(_ contents: Data, to path: String) throws {
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
        contents: contents,
        attributes: [.posixPermissions: 0o600]
      )
    else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
    }
    guard rename(temporary, path) == 0 else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
  }

  /// The file's text without surrounding whitespace; `nil` when absent or empty.
  public static func readText(_ path: String) -> String? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    return trimmed.isEmpty ? nil : trimmed
  }
}
