public import OrchionCore
import PostgresNIO

/// Who leads a group of orchestrators sharing one PostgreSQL database, decided by a lease row.
///
/// Why a lease row with a fencing token rather than an advisory lock: an advisory lock belongs
/// to a *connection*, and a paused leader's connection stays open — the lock would outlive the
/// pause and nobody could take over. The row has an expiry in the database's own time
/// (`clock_timestamp()`, so orchestrators' clocks do not matter), and every takeover increments
/// `token`. Every commit of the leader checks the token under a share lock on the row
/// (``PostgresStore/fence(with:)``): a leader that was paused past its lease finds the token
/// changed and its writes fail; and a takeover waits for commits in flight. So two leaders
/// can overlap in time, but never in writes.
public struct LeaderLease: Sendable {
  /// Who holds the lease.
  public struct Holder: Sendable, Equatable {
    /// The holder's instance (unique per process).
    public var instance: String
    /// Where clients reach the holder.
    public var address: String
    /// The fencing token of its term.
    public var token: Int64

    public init(instance: String, address: String, token: Int64) {
      self.instance = instance
      self.address = address
      self.token = token
    }
  }

  private let store: PostgresStore
  /// This orchestrator's instance.
  public let instance: String
  /// Where clients reach this orchestrator.
  public let address: String
  /// How long a lease lasts without renewal.
  public let duration: Duration

  public init(store: PostgresStore, instance: String, address: String, duration: Duration) {
    self.store = store
    self.instance = instance
    self.address = address
    self.duration = duration
  }

  private var seconds: Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }

  /// Takes the lease if nobody holds it (it is missing or expired).
  /// - Returns: The new term's fencing token, or `nil` when another orchestrator holds it.
  public func acquire() async throws(OrchionError) -> Int64? {
    try await store.leaseQuery("take the leader lease") { [instance, address, seconds] in
      """
      INSERT INTO orchion_leader (id, holder, address, token, expires_at)
      VALUES (1, \(instance), \(address), 1, clock_timestamp() + make_interval(secs => \(seconds)))
      ON CONFLICT (id) DO UPDATE SET
        holder = excluded.holder, address = excluded.address,
        token = orchion_leader.token + 1, expires_at = excluded.expires_at
      WHERE orchion_leader.expires_at < clock_timestamp()
      RETURNING token
      """
    }
  }

  /// Extends the lease of the term `token`.
  /// - Returns: Whether this orchestrator still holds it (false: another took over).
  public func renew(token: Int64) async throws(OrchionError) -> Bool {
    try await store.leaseQuery("renew the leader lease") { [instance, seconds] in
      """
      UPDATE orchion_leader
      SET expires_at = clock_timestamp() + make_interval(secs => \(seconds))
      WHERE id = 1 AND token = \(token) AND holder = \(instance)
      RETURNING token
      """
    } != nil
  }

  /// Gives the lease up at once (graceful shutdown), so another takes over without waiting.
  public func release(token: Int64) async throws(OrchionError) {
    _ = try await store.leaseQuery("release the leader lease") { [instance] in
      """
      UPDATE orchion_leader SET expires_at = clock_timestamp() - interval '1 second'
      WHERE id = 1 AND token = \(token) AND holder = \(instance)
      RETURNING token
      """
    }
  }

  /// The current leader, if its lease has not expired.
  public func leader() async throws(OrchionError) -> Holder? {
    try await store.currentLeader()
  }
}

extension PostgresStore {
  /// Lease statements give up after this long: a leader whose database connection hangs must
  /// find out while its lease still runs.
  static let leaseStatementTimeout = Duration.seconds(1)

  /// Runs a lease statement returning at most one token.
  func leaseQuery(_ what: String, _ query: @escaping @Sendable () -> PostgresQuery)
    async throws(OrchionError) -> Int64?
  {
    try await run(what) { [connections, logger] in
      try await Deadline.run(within: Self.leaseStatementTimeout, what) {
        for try await token in try await connections.query(query(), logger: logger).decode(
          Int64.self
        ) {
          return token
        }
        return nil
      }
    }
  }

  func currentLeader() async throws(OrchionError) -> LeaderLease.Holder? {
    try await run("read the leader lease") { [connections, logger] in
      try await Deadline.run(within: Self.leaseStatementTimeout, "read the leader lease") {
        for try await (holder, address, token) in try await connections.query(
          """
          SELECT holder, address, token FROM orchion_leader
          WHERE id = 1 AND expires_at >= clock_timestamp()
          """,
          logger: logger
        ).decode((String, String, Int64).self) {
          return LeaderLease.Holder(instance: holder, address: address, token: token)
        }
        return nil
      }
    }
  }
}
