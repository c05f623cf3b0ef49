import Foundation

/// The data directory: `--data-dir`, by default `~/.orchion`.
enum DataDirectory {
  /// `~/.orchion`, from `$HOME` (or the current directory when it is unset).
  static var defaultPath: String {
    let home =
      ProcessInfo.processInfo.environment["HOME"] ?? FileManager.default.currentDirectoryPath
    return (home as NSString).appendingPathComponent(".orchion")
  }

  /// Creates the directory (mode 0700: it will hold credentials) if it does not exist.
  /// - Returns: The path.
  static func prepare(_ path: String) throws -> String {
    try FileManager.default.createDirectory(
      atPath: path,
      withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o700]
    )
    return path
  }
}
