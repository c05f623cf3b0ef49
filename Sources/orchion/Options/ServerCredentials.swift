import Foundation
import Logging
import OrchionClient
import OrchionCommandLine
import OrchionCore
import OrchionServer

/// The orchestrator's credentials in its data directory, all mode 0600: `secrets.key` (what
/// task secrets are encrypted with), and `admin.token` / `join.token` (created on first start).
enum ServerCredentials {
  /// The key task secrets are encrypted with: `<data-dir>/secrets.key`, created on first use.
  /// Several orchestrators sharing one store need the same file.
  static func secretsKey(dataDirectory: String) throws -> [UInt8] {
    let path = (dataDirectory as NSString).appendingPathComponent("secrets.key")
    if let data = FileManager.default.contents(atPath: path) {
      guard data.count == 32 else {
        throw OrchionError.failedPrecondition(
          "\(path) holds \(data.count) bytes, not a 32-byte key: restore it from a backup (secrets encrypted with the old key cannot be read without it)"
        )
      }
      return Array(data)
    }
    _ = try DataDirectory.prepare(dataDirectory)
    var generator = SystemRandomNumberGenerator()
    let key = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    try PrivateFile.write(Data(key), to: path)
    return key
  }

  /// Where the first admin token is kept.
  static func adminTokenPath(dataDirectory: String) -> String {
    (dataDirectory as NSString).appendingPathComponent("admin.token")
  }

  /// Where the first join token is kept.
  static func joinTokenPath(dataDirectory: String) -> String {
    (dataDirectory as NSString).appendingPathComponent("join.token")
  }

  /// After the orchestrator listens: creates the first tokens if the cluster has none, keeps
  /// them in the data directory, records the server and admin token in the client config, and
  /// returns the join token when it was just created (to print the join command).
  /// - Returns: The admin token for local use (just created, `--token`, or kept from the first
  ///   start) and the join token if it was just created.
  static func prepare(
    orchestrator: Orchestrator,
    options: ServerOptions,
    address: ServerAddress,
    logger: Logger
  ) async throws -> (admin: String?, newJoin: String?) {
    let dataDirectory = options.dataDir
    if !Authentication.isLoopback(options.host), options.tlsCert == nil {
      logger.warning(
        "listening beyond loopback without TLS: tokens and task specs cross the network in the clear; use --tls-cert/--tls-key (orchion certs init) on any untrusted network"
      )
    }
    // The files are written before the tokens are stored: a crash in between must not leave
    // stored tokens that nobody holds (see Orchestrator.bootstrapTokens).
    let created = try await orchestrator.bootstrapTokens { created in
      try PrivateFile.write(
        Data((created.admin + "\n").utf8),
        to: adminTokenPath(dataDirectory: dataDirectory)
      )
      try PrivateFile.write(
        Data((created.join + "\n").utf8),
        to: joinTokenPath(dataDirectory: dataDirectory)
      )
      ClientConfigFile.record(server: address, token: created.admin, logger: logger)
    }
    if let created { return (created.admin, created.join) }
    let admin =
      options.noAuth
      ? nil
      : options.adminToken ?? PrivateFile.readText(adminTokenPath(dataDirectory: dataDirectory))
    // Fill a missing token in, but never replace one the user put there.
    let configured = ClientConfigFile.load()?.token
    ClientConfigFile.record(server: address, token: configured == nil ? admin : nil, logger: logger)
    return (admin, nil)
  }
}
