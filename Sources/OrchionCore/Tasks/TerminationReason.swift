/// Why an attempt or a task ended: the value to decide on (an exit code alone cannot tell a
/// timeout from a command that exited 1), where messages are for people.
public enum TerminationReason: String, Hashable, Sendable, CaseIterable {
  /// The command exited on its own.
  case exited
  /// The command was killed by a signal nobody in Orchion sent.
  case signalled
  /// It ran past its timeout and was stopped.
  case timedOut
  /// Stopped by a cancel.
  case cancelled
  /// Its node was lost, or the node's agent no longer ran it.
  case lost
  /// Stopped to make room for a higher-priority task.
  case preempted
  /// Stopped by a drain of its node.
  case drained
  /// The command never started.
  case couldNotStart
  /// The agent's process spawner died before it reported how the command ended.
  case spawnerDied

  /// What a node may report on its own: the rest are the orchestrator's to say.
  public var isReportableByAgent: Bool {
    switch self {
    case .exited, .signalled, .timedOut, .couldNotStart, .spawnerDied: true
    case .cancelled, .lost, .preempted, .drained: false
    }
  }
}
