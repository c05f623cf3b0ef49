/// How an attempt ended.
public enum AttemptOutcome: String, Hashable, Sendable, CaseIterable {
  /// Still assigned or running.
  case active
  case succeeded
  case failed
  /// Its node was lost or its agent no longer ran it; does not use up `maxAttempts`.
  case lost
  /// Evicted for a higher-priority task; does not use up `maxAttempts`.
  case preempted
  /// Stopped by a drain of its node; does not use up `maxAttempts`.
  case drained
  case cancelled
}

/// One run of a task on one node.
public struct AttemptRecord: Hashable, Sendable {
  /// From 1.
  public var number: Int32
  public var id: AttemptID
  public var node: NodeID
  public var assignedAt: UTCInstant
  public var startedAt: UTCInstant?
  public var finishedAt: UTCInstant?
  public var outcome: AttemptOutcome
  /// Set when the process exited rather than being killed or never starting.
  public var exitCode: Int32?
  /// Why it ended as it did, for a person.
  public var reason: String
  /// Why it ended, once it has.
  public var termination: TerminationReason?

  /// A new attempt, just assigned.
  public init(number: Int32, id: AttemptID, node: NodeID, assignedAt: UTCInstant) {
    self.number = number
    self.id = id
    self.node = node
    self.assignedAt = assignedAt
    self.outcome = .active
    self.reason = ""
  }
}
