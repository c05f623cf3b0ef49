import Foundation

/// Output for people (and scripts), written straight to the file descriptor: `print` is
/// block-buffered when standard output is a pipe, and a supervisor waiting for "listening on"
/// must see the line at once.
enum Console {
  /// Writes `text` and a newline to standard output.
  static func line(_ text: String) {
    write(text + "\n")
  }

  /// Writes `text` to standard output as it is.
  static func write(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
  }

  /// Writes `text` and a newline to standard error.
  static func error(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
  }
}
