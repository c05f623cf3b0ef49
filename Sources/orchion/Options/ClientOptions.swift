import ArgumentParser
import Foundation
import OrchionClient
import OrchionCore

/// How a CLI command finds the orchestrator: `--server`, else `ORCHION_SERVER`, else the
/// client config file (`~/.orchion/config`), else 127.0.0.1:50051.
struct ClientOptions: ParsableArguments {
  @Option(
    help:
      "Orchestrator address HOST:PORT, or several (a:1,b:2) to use whichever leads (default: $ORCHION_SERVER, ~/.orchion/config, 127.0.0.1:50051)."
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
    try await withOrchionClient(servers: try addresses(), token: resolvedToken(), body)
  }

  /// The resolved address (the first, when several are given).
  func address() throws -> ServerAddress {
    guard let first = try addresses().first else { throw ValidationError("no server address") }
    return first
  }

  /// The resolved addresses: one orchestrator, or several sharing one store.
  func addresses() throws -> [ServerAddress] {
    let environment = ProcessInfo.processInfo.environment
    let text =
      server ?? environment["ORCHION_SERVER"] ?? ClientConfigFile.load()?.server
      ?? "127.0.0.1:\(ServerAddress.defaultPort)"
    do {
      return try ServerAddress.list(parsing: text)
    } catch {
      throw ValidationError(error.message)
    }
  }
}

/// Output format for listing commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case table, json
}
