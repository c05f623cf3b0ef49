import OrchionCore

/// Decides where pending tasks run. A pure function: no I/O, no clock, no shared state, so it
/// can be tested case by case and benchmarked alone.
///
/// ```swift
/// let decision = StrategyScheduler(strategy: .binpack).schedule(queue, in: snapshot)
/// ```
public protocol Scheduler: Sendable {
  /// Places as many of `pending` as fit, in queue order; a task that fits nowhere is skipped
  /// and does not block the ones behind it.
  /// - Parameters:
  ///   - pending: Tasks waiting for a place, in queue order (higher priority first).
  ///   - snapshot: The nodes, with what is already allocated on them.
  /// - Returns: Placements, and the preemptions and reservations made for tasks that fit nowhere.
  func schedule(_ pending: [PendingTask], in snapshot: ClusterSnapshot) -> SchedulingDecision
}
