public import OrchionCore

/// What one scheduling pass decided.
public struct SchedulingDecision: Hashable, Sendable {
  /// Tasks to start now.
  public var placements: [Placement] = []
  /// Tasks to evict so that higher-priority ones can run.
  public var preemptions: [Preemption] = []
  /// Nodes held back from later tasks in the queue for a task that cannot start yet.
  public var reservations: [Placement] = []
  /// The node of the last round-robin placement (carry it into the next pass).
  public var roundRobinLast: NodeID?

  /// An empty decision.
  public init() {}
}

/// Run this task on this node.
public struct Placement: Hashable, Sendable {
  public var task: TaskID
  public var node: NodeID

  /// Creates a placement.
  public init(task: TaskID, node: NodeID) {
    self.task = task
    self.node = node
  }
}

/// Evict `victims` from `node` to make room for `task`.
public struct Preemption: Hashable, Sendable {
  public var task: TaskID
  public var node: NodeID
  public var victims: [TaskID]

  /// Creates a preemption.
  public init(task: TaskID, node: NodeID, victims: [TaskID]) {
    self.task = task
    self.node = node
    self.victims = victims
  }
}
