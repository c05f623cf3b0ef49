import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Credentials a process was given where other processes can read them: its command line
/// (`/proc/PID/cmdline`, what `ps` shows every local user) and its environment block
/// (`/proc/PID/environ`, readable by the same user — and so by every task an agent runs).
public enum VisibleCredentials {
  /// Flags whose value is a credential.
  public static let flags = ["--token"]
  /// Environment variables whose value is a credential.
  public static let variables = ["ORCHION_TOKEN"]

  /// Warns on standard error when a credential was given on the command line.
  public static func warnIfInArguments(_ arguments: [String] = CommandLine.arguments) {
    guard
      let flag = arguments.first(where: { argument in
        flags.contains { argument == $0 || argument.hasPrefix($0 + "=") }
      })
    else { return }
    let name = flag.split(separator: "=").first.map(String.init) ?? flag
    FileHandle.standardError.write(
      Data(
        "warning: \(name) on the command line is visible to every user of this machine (ps); use \(name)-file FILE or ORCHION_TOKEN instead\n"
          .utf8
      )
    )
  }

  /// Overwrites, in this process's own memory, the values of credential flags in its argument
  /// block and of credential variables in its environment block (then unsets them), so that
  /// `/proc/PID/cmdline` and `/proc/PID/environ` no longer show them — to `ps`, and to the
  /// tasks a long-running agent starts as the same user. Call once the values were read.
  public static func scrub() {
    let argc = Int(CommandLine.argc)
    let argv = CommandLine.unsafeArgv
    var index = 1
    while index < argc {
      guard let argument = argv[index] else { break }
      let text = String(cString: argument)
      if flags.contains(text), index + 1 < argc, let value = argv[index + 1] {
        blank(value, from: 0)
        index += 2
        continue
      }
      if let flag = flags.first(where: { text.hasPrefix($0 + "=") }) {
        blank(argument, from: flag.utf8.count + 1)
      }
      index += 1
    }
    var entry = environ
    while let pointer = entry.pointee {
      let text = String(cString: pointer)
      if let name = variables.first(where: { text.hasPrefix($0 + "=") }) {
        blank(pointer, from: name.utf8.count + 1)
      }
      entry += 1
    }
    for name in variables { unsetenv(name) }
  }

  /// Replaces the C string's bytes from `offset` to its end with `*`.
  private static func blank(_ string: UnsafeMutablePointer<CChar>, from offset: Int) {
    let length = strlen(string)
    guard length > offset else { return }
    memset(string + offset, Int32(UInt8(ascii: "*")), length - offset)
  }
}
