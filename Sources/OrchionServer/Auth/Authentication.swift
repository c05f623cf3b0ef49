public import OrchionCore

/// Who may call an orchestrator, and how hard.
public struct Authentication: Sendable {
  /// Whether every call needs a token. Off is allowed on loopback only (`--no-auth`).
  public var enabled: Bool
  /// Admin tokens accepted besides the stored ones (`--token`, `ORCHION_TOKEN`).
  public var adminTokens: [String]
  /// Node registrations refilled per second for each join token (admin tokens have no limit).
  public var registrationsPerSecond: Double
  /// Node registrations one join token may make at once: a lab of machines behind one NAT that
  /// restarts together, or an admin's script joining thousands, gets in.
  public var registrationBurst: Int
  /// Failed authentications (no, unknown, revoked or expired token) refilled per second for
  /// each caller address; past them the address is refused before any token is looked at.
  public var failedAuthenticationsPerSecond: Double
  /// Failed authentications one address may make at once.
  public var failedAuthenticationBurst: Int

  /// On, no configured token; 200 registrations a second per join token in bursts of 2,000;
  /// 10 failed authentications a second per address in bursts of 100.
  public init(
    enabled: Bool = true,
    adminTokens: [String] = [],
    registrationsPerSecond: Double = 200,
    registrationBurst: Int = 2_000,
    failedAuthenticationsPerSecond: Double = 10,
    failedAuthenticationBurst: Int = 100
  ) {
    self.enabled = enabled
    self.adminTokens = adminTokens
    self.registrationsPerSecond = registrationsPerSecond
    self.registrationBurst = registrationBurst
    self.failedAuthenticationsPerSecond = failedAuthenticationsPerSecond
    self.failedAuthenticationBurst = failedAuthenticationBurst
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
