import ArgumentParser
import Foundation
import OrchionClient
import OrchionCommandLine
import OrchionStore

/// Where `--store`, `--store-file` and `ORCHION_STORE` say the state is. A PostgreSQL URL may
/// carry a password, and a command line is readable by every local user (`ps`): the file
/// (mode 0600) or the environment keep it private; a password in argv is warned about.
enum StoreArgument {
  /// The store text: `--store`, else the contents of `--store-file`, else `ORCHION_STORE`.
  /// - Throws: `ValidationError` when both flags are given, or the file cannot be read.
  static func text(argument: String?, file: String?) throws -> String? {
    if argument != nil, file != nil {
      throw ValidationError("--store and --store-file: give one of them")
    }
    if let argument { return argument }
    if let file {
      guard let text = PrivateFile.readText(file) else {
        throw ValidationError("--store-file \(file): cannot read it, or it is empty")
      }
      return text
    }
    return ProcessInfo.processInfo.environment["ORCHION_STORE"].flatMap {
      $0.isEmpty ? nil : $0
    }
  }

  /// Warns on standard error when `argument` (a `--store` value) holds a password.
  static func warnAboutPassword(in argument: String?) {
    guard let argument, argument.hasPrefix("postgres"),
      let url = try? PostgresURL(parsing: argument), url.password != nil
    else { return }
    Console.error(
      "warning: --store holds a password, which every user of this machine can read (ps); use --store-file PATH (mode 0600) or ORCHION_STORE instead"
    )
  }
}
