import Foundation
import OrchionClient

/// The data directory: `--data-dir`, by default `~/.orchion`.
public enum DataDirectory {
  /// `~/.orchion`, from `$HOME` (or the current directory when it is unset).
  public static var defaultPath: String {
    let home =
      ProcessInfo.processInfo.environment["HOME"] ?? FileManager.default.currentDirectoryPath
    return (home as NSString).appendingPathComponent(".orchion")
  }

  /// Creates the directory (mode 0700: it will hold credentials) if it does not exist; one
  /// that others may read is tightened to 0700, with a warning on standard error (its files
  /// may have been read already: the warning says so).
  /// - Returns: The path.
  /// - Throws: When it cannot be made private (another user's, or writable by others).
  public static func prepare(_ path: String) throws -> String {
    if let old = try PrivateFile.prepareDirectory(path) {
      Console.error(
        "warning: \(path) was readable by other users (mode \(PrivateFile.octal(old))); changed it to 0700. Rotate the tokens and keys in it if others may have read them."
      )
    }
    return path
  }
}
