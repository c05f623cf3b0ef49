#if canImport(Glibc)
  import Glibc
#endif

/// Output for people (and scripts), written straight to the file descriptor: `print` is
/// block-buffered when standard output is a pipe, and a supervisor waiting for "listening on"
/// must see the line at once.
public enum Console {
  /// Writes `text` and a newline to standard output.
  public static func line(_ text: String) {
    write(text + "\n")
  }

  /// Writes `text` to standard output as it is.
  public static func write(_ text: String) {
    write(text, to: STDOUT_FILENO)
  }

  /// Writes `bytes` to standard output as they are.
  public static func write(bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { write($0, to: STDOUT_FILENO) }
  }

  /// Writes `text` and a newline to standard error.
  public static func error(_ text: String) {
    write(text + "\n", to: STDERR_FILENO)
  }

  /// Writes all of `text`. When the reader has gone (`orchion tasks | head`), there is no one
  /// left to tell: exit quietly, as `cat` or `ls` would, rather than crash.
  private static func write(_ text: String, to descriptor: CInt) {
    var text = text
    text.withUTF8 { write($0, to: descriptor) }
  }

  private static func write(_ bytes: UnsafeBufferPointer<UInt8>, to descriptor: CInt) {
    var offset = 0
    while offset < bytes.count {
      let written = Glibc.write(
        descriptor,
        bytes.baseAddress.map { $0 + offset },
        bytes.count - offset
      )
      if written > 0 {
        offset += written
      } else if written < 0, errno == EINTR {
        continue
      } else if written < 0, errno == EPIPE {
        exit(0)
      } else {
        return
      }
    }
  }
}
