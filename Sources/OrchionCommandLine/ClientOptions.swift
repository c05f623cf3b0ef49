public import ArgumentParser
import Foundation
public import OrchionClient
public import OrchionCore

/// How a CLI command finds the orchestrator: `--server`, else `ORCHION_SERVER`, else the
/// client config file (`~/.orchion/config`), else 127.0.0.1:50051.
public struct ClientOptions: ParsableArguments, Sendable {
  @Option(
    help:
      "Orchestrator address HOST:PORT, or several (a:1,b:2) to use whichever leads (default: $ORCHION_SERVER, ~/.orchion/config, 127.0.0.1:50051)."
  )
  public var server: String?

  @Option(
    help:
      "Token to present to the orchestrator (default: --token-file, $ORCHION_TOKEN, then ~/.orchion/config). Visible to every local user in ps: prefer --token-file."
  )
  public var token: String?

  @Option(
    help:
      "File holding the token to present (default: $ORCHION_TOKEN_FILE); keeps it out of ps and the environment."
  )
  public var tokenFile: String?

  @Option(
    name: .customLong("tls-ca"),
    help:
      "PEM CA the orchestrator's TLS certificate must chain to; enables TLS (also tls_ca in ~/.orchion/config)."
  )
  public var tlsCA: String?

  @Option(help: "For mutual TLS: this client's PEM certificate (also tls_cert in the config).")
  public var tlsCert: String?

  @Option(help: "For mutual TLS: the PEM key of --tls-cert (also tls_key in the config).")
  public var tlsKey: String?

  public init() {}

  public func validate() throws {
    guard (tlsCert == nil) == (tlsKey == nil) else {
      throw ValidationError("--tls-cert and --tls-key go together")
    }
    guard token == nil || tokenFile == nil else {
      throw ValidationError("--token and --token-file: give one")
    }
    if let path = tokenFileToRead, PrivateFile.readText(path) == nil {
      throw ValidationError("--token-file \(path): cannot read a token from it")
    }
    if token != nil { VisibleCredentials.warnIfInArguments() }
  }

  /// `--token-file`, else `ORCHION_TOKEN_FILE`.
  private var tokenFileToRead: String? {
    tokenFile
      ?? ProcessInfo.processInfo.environment["ORCHION_TOKEN_FILE"].flatMap {
        $0.isEmpty ? nil : $0
      }
  }

  /// The token to present: `--token`, else the token file's (`--token-file`,
  /// `ORCHION_TOKEN_FILE`), else `ORCHION_TOKEN`, else the client config's.
  public func resolvedToken() -> String? {
    token ?? tokenFileToRead.flatMap { PrivateFile.readText($0) }
      ?? ProcessInfo.processInfo.environment["ORCHION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
      ?? ClientConfigFile.load()?.token
  }

  /// TLS from the flags, else `ORCHION_TLS_CA`/`_CERT`/`_KEY` (what an agent gives its tasks),
  /// else the client config; `nil` for plaintext.
  public func resolvedTLS() -> ClientTLS? {
    let config = ClientConfigFile.load()
    let environment = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
    let ca = tlsCA ?? environment["ORCHION_TLS_CA"] ?? config?.tlsCA
    let certificate = tlsCert ?? environment["ORCHION_TLS_CERT"] ?? config?.tlsCert
    let key = tlsKey ?? environment["ORCHION_TLS_KEY"] ?? config?.tlsKey
    guard ca != nil || certificate != nil else { return nil }
    return ClientTLS(caPath: ca, certificatePath: certificate, keyPath: key)
  }

  /// Connects to the resolved orchestrator and runs `body` with a client.
  public func connect<Result: Sendable>(
    _ body: (OrchionNetworkClient) async throws -> Result
  ) async throws -> Result {
    try await withOrchionClient(
      servers: try addresses(),
      token: resolvedToken(),
      tls: resolvedTLS(),
      body
    )
  }

  /// The resolved address (the first, when several are given).
  public func address() throws -> ServerAddress {
    guard let first = try addresses().first else { throw ValidationError("no server address") }
    return first
  }

  /// The resolved addresses: one orchestrator, or several sharing one store.
  public func addresses() throws -> [ServerAddress] {
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
