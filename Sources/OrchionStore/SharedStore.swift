/// A store several orchestrators share, one leading at a time: the store keeps the leader
/// lease and refuses the writes of an orchestrator that no longer holds it. The orchestrator
/// asks its store for this capability rather than for a concrete type: a store that has it
/// runs followers and a campaign; one that does not (SQLite) is led by its only process.
public protocol SharedStore: Store {
  /// The lease this orchestrator (`instance`, reached at `address`) competes for.
  func leaderLease(instance: String, address: String, duration: Duration) -> LeaderLease

  /// Checks every later commit against the lease's fencing `token` (`nil`: commits are not
  /// checked); a commit may hold the takeover off for at most `holdLimit`.
  func fence(with token: Int64?, holdLimit: Duration)
}

extension PostgresStore: SharedStore {
  public func leaderLease(instance: String, address: String, duration: Duration) -> LeaderLease {
    LeaderLease(store: self, instance: instance, address: address, duration: duration)
  }
}
