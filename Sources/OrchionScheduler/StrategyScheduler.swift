public import OrchionCore

/// The default scheduler: places tasks by a strategy (``PlacementStrategy``), in queue order.
///
/// **Which node.** Only ACTIVE, uncordoned nodes whose labels satisfy the task's selector and
/// constraints, with a free slot and room for every resource the task asks for, are feasible.
/// Among them `binpack` takes the most allocated, `spread` the least allocated, and
/// `round-robin` the next one by node ID after the previous placement. So that a pass over a
/// large cluster stays cheap, at most ``candidateLimit`` feasible nodes are scored per task (as
/// Nomad limits its candidates); smaller clusters are scored whole.
///
/// **Head of line.** A task that fits nowhere is skipped; the ones behind it are still placed.
/// So that a large task is not starved by a stream of small ones, the caller marks a task that
/// has waited long ``PendingTask/reserve``: when it still fits nowhere, it holds the least-loaded
/// node that could ever hold it, and no later task in the queue is placed there, so the node
/// empties until the large task fits (backfill schedulers' reservation, without runtime
/// estimates). At most one node in ten (at least one) is held this way in a pass.
///
/// **Preemption.** A task that fits nowhere may evict preemptible tasks of strictly lower
/// priority: the scheduler picks the node where the fewest such tasks make room (then the lowest
/// of their priorities, then node ID), evicting lowest priority first and, within a priority, the
/// most recently created. Tasks already being stopped count as room to come, so a task whose room
/// is being freed waits for it instead of evicting more. The node is held for the task until it
/// fits.
public struct StrategyScheduler: Scheduler {
  /// The strategy for tasks that do not choose one.
  public var strategy: PlacementStrategy
  /// The most feasible nodes scored per task; 0 scores them all.
  public var candidateLimit: Int

  /// Creates a scheduler.
  public init(strategy: PlacementStrategy = .binpack, candidateLimit: Int = 32) {
    self.strategy = strategy
    self.candidateLimit = candidateLimit
  }

  public func schedule(_ pending: [PendingTask], in snapshot: ClusterSnapshot)
    -> SchedulingDecision
  {
    var pass = SchedulingPass(
      snapshot: snapshot,
      queue: pending,
      defaultStrategy: strategy,
      candidateLimit: candidateLimit
    )
    for task in pending where !pass.schedule(task) { break }
    return pass.decision
  }
}
