/// A task as the orchestrator knows it.
public struct TaskRecord: Hashable, Sendable {
  /// The task's identifier.
  public var id: TaskID
  /// What to run.
  public var spec: TaskSpec
  /// Where it is in its life.
  public var state: TaskState
  /// The node of the current or last attempt.
  public var nodeID: NodeID?
  /// Number of the current or last attempt, from 1; 0 before the first.
  public var attempt: Int32
  /// The current or last attempt's ID.
  public var attemptID: AttemptID?
  /// Exit code of the last attempt's process, when it exited.
  public var exitCode: Int32?
  /// When the task was accepted.
  public var createdAt: UTCInstant
  /// When the current or last attempt started running.
  public var startedAt: UTCInstant?
  /// When the task became terminal.
  public var finishedAt: UTCInstant?
  /// Why the task is in its state, for a person.
  public var message: String
  /// Once terminal: why its last attempt ended, or ``TerminationReason/cancelled`` when it was
  /// cancelled before one ran.
  public var termination: TerminationReason?
  /// Attempts that ended because their node was lost (they do not use up `maxAttempts`).
  public var lostAttempts: Int32
  /// Attempts that ran and failed.
  public var failedAttempts: Int32
  /// Cancellation was asked for; the task becomes CANCELLED once its process is gone.
  public var cancelRequested: Bool
  /// Why the current attempt is being stopped by the orchestrator (preemption or drain), so
  /// its end does not count against the task.
  public var eviction: AttemptOutcome?
  /// Every attempt so far, oldest first (the most recent ``maxRecordedAttempts``).
  public var attempts: [AttemptRecord]
  /// A pending task waiting out its retry backoff is not placed before this time.
  public var notBefore: UTCInstant?
  /// When the task last became PENDING (creation or requeue): how long it has waited.
  public var queuedAt: UTCInstant
  /// An agent task's outcome as its last attempt reported it.
  public var agentResult: AgentResult?
  /// The task whose own token submitted this one (a planner fanning out); `nil` when a
  /// person or program did. Its token may read, follow and cancel this task.
  public var parent: TaskID?
  /// The group it belongs to, and its place there.
  public var membership: GroupMembership?
  /// The idempotency key it was submitted with.
  public var idempotency: IdempotencyKey?

  /// Attempts kept per task; older ones are dropped.
  public static let maxRecordedAttempts = 32

  /// A new pending task.
  public init(id: TaskID, spec: TaskSpec, createdAt: UTCInstant) {
    self.id = id
    self.spec = spec
    self.state = .pending
    self.attempt = 0
    self.createdAt = createdAt
    self.message = ""
    self.lostAttempts = 0
    self.failedAttempts = 0
    self.cancelRequested = false
    self.attempts = []
    self.queuedAt = createdAt
  }

  /// Updates the current attempt's record, if it has one.
  public mutating func updateCurrentAttempt(_ update: (inout AttemptRecord) -> Void) {
    guard let attemptID, let index = attempts.lastIndex(where: { $0.id == attemptID }) else {
      return
    }
    update(&attempts[index])
  }
}
