public import OrchionCore

/// A task waiting for a place, as the scheduler sees it.
public struct PendingTask: Hashable, Sendable {
  /// The task's ID.
  public var id: TaskID
  /// What it needs.
  public var resources: Resources
  /// Labels a node must carry, with these values.
  public var nodeSelector: [String: String]
  /// Further label rules a node must satisfy.
  public var constraints: [LabelConstraint]
  /// 0–100; only a higher priority may preempt.
  public var priority: Int32
  /// The task's own strategy; `nil` for the scheduler's default.
  public var strategy: PlacementStrategy?
  /// The task has waited long enough to hold a node for itself (see ``StrategyScheduler``).
  public var reserve: Bool
  /// When the task last joined the queue; with ``ClusterSnapshot/reserveQueuedBefore`` it
  /// decides `reserve` without the scheduler reading a clock.
  public var queuedAt: UTCInstant?
  /// The one node the task may run on (an agent session that lives there), if any.
  public var node: NodeID?
  /// Tasks with the same value never share a node (a group spread one member per node, as
  /// Nomad's distinct_hosts); `nil` for none.
  public var distinctGroup: String?

  /// Creates a pending task view.
  public init(
    id: TaskID,
    resources: Resources = .zero,
    nodeSelector: [String: String] = [:],
    constraints: [LabelConstraint] = [],
    priority: Int32 = TaskSpec.defaultPriority,
    strategy: PlacementStrategy? = nil,
    reserve: Bool = false,
    queuedAt: UTCInstant? = nil,
    node: NodeID? = nil,
    distinctGroup: String? = nil
  ) {
    self.node = node
    self.distinctGroup = distinctGroup
    self.id = id
    self.resources = resources
    self.nodeSelector = nodeSelector
    self.constraints = constraints
    self.priority = priority
    self.strategy = strategy
    self.reserve = reserve
    self.queuedAt = queuedAt
  }

  /// Whether a node with `labels` satisfies the selector and every constraint.
  public func accepts(labels: [String: String]) -> Bool {
    nodeSelector.allSatisfy { key, value in labels[key] == value }
      && constraints.allSatisfy { $0.matches(labels) }
  }
}
