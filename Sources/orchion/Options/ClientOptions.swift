import ArgumentParser
import Foundation
import OrchionCore

/// How a CLI command finds the orchestrator: `--server`, else `ORCHION_SERVER`, else the
/// client config file (`~/.orchion/config`), else 127.0.0.1:50051.
struct ClientOptions: ParsableArguments {
  @Option(
    help:
      "Orchestrator address HOST:PORT (default: $ORCHION_SERVER, ~/.orchion/config, 127.0.0.1:50051)."
  )
  var server: String?

  /// The resolved address.
  func address() throws -> ServerAddress {
    let environment = ProcessInfo.processInfo.environment
    let text =
      server ?? environment["ORCHION_SERVER"] ?? ClientConfigFile.load()?.server
      ?? "127.0.0.1:\(ServerAddress.defaultPort)"
    do {
      return try ServerAddress(parsing: text)
    } catch {
      throw ValidationError(error.message)
    }
  }
}

/// Output format for listing commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case table, json
}
