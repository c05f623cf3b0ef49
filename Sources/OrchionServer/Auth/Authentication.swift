public import OrchionCore

/// Who may call an orchestrator, and how hard.
public struct Authentication: Sendable {
  /// Whether every call needs a token. Off is allowed on loopback only (`--no-auth`).
  public var enabled: Bool
  /// Admin tokens accepted besides the stored ones (`--token`, `ORCHION_TOKEN`).
  public var adminTokens: [String]
  /// Node registrations refilled per second for each caller address.
  public var registrationsPerSecond: Double
  /// Node registrations one caller address may make at once.
  public var registrationBurst: Int

  /// On, no configured token, 20 registrations a second per address in bursts of 50.
  public init(
    enabled: Bool = true,
    adminTokens: [String] = [],
    registrationsPerSecond: Double = 20,
    registrationBurst: Int = 50
  ) {
    self.enabled = enabled
    self.adminTokens = adminTokens
    self.registrationsPerSecond = registrationsPerSecond
    self.registrationBurst = registrationBurst
  }

  /// Refuses to serve without authentication anywhere but loopback: an open orchestrator is a
  /// remote shell for whoever finds it.
  /// - Throws: `failedPrecondition` saying how to start properly.
  public func check(listeningOn host: String) throws(OrchionError) {
    guard !enabled, !Self.isLoopback(host) else { return }
    throw .failedPrecondition(
      "refusing to listen on \(host) without authentication: anyone who reaches it could run commands on every node. Drop --no-auth (tokens are created on first start), or listen on 127.0.0.1"
    )
  }

  /// Whether `host` is reachable from this machine only.
  public static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
  }
}

/// The tokens an orchestrator creates on a cluster's first start.
public struct BootstrapTokens: Sendable {
  /// For the local CLI and other admins.
  public var admin: String
  /// For other machines' agents: `orchion agent --server … --token <join>`.
  public var join: String
}
