import ArgumentParser
import Foundation
import OrchionClient
import OrchionCore

/// How a CLI command finds the orchestrator: `--server`, else `ORCHION_SERVER`, else the
/// client config file (`~/.orchion/config`), else 127.0.0.1:50051.
struct ClientOptions: ParsableArguments {
  @Option(
    help:
      "Orchestrator address HOST:PORT (default: $ORCHION_SERVER, ~/.orchion/config, 127.0.0.1:50051)."
  )
  var server: String?

  @Option(
    help: "Token to present to the orchestrator (default: $ORCHION_TOKEN, then ~/.orchion/config)."
  )
  var token: String?

  /// The token to present: `--token`, else `ORCHION_TOKEN`, else the client config's.
  func resolvedToken() -> String? {
    token ?? ProcessInfo.processInfo.environment["ORCHION_TOKEN"] ?? ClientConfigFile.load()?.token
  }

  /// Connects to the resolved orchestrator and runs `body` with a client.
  func connect<Result: Sendable>(
    _ body: (OrchionClient) async throws -> Result
  ) async throws -> Result {
    try await withOrchionClient(server: try address(), token: resolvedToken(), body)
  }

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
