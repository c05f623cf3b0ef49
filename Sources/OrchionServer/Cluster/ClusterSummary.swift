public import OrchionCore

/// The cluster at a glance, for the dashboard's overview and `/metrics`: counts, not records.
public struct ClusterSummary: Sendable, Equatable {
  /// Tasks held in memory by state (finished ones within retention).
  public var tasksByState: [TaskState: Int]
  /// Tasks waiting to be placed, including those waiting out a retry delay.
  public var queueDepth: Int
  /// Registered nodes by status.
  public var nodesByStatus: [NodeStatus: Int]
  /// Tasks submitted and finished in each of the last ``minutes`` whole minutes, oldest first
  /// (the current, partial minute last).
  public var submittedPerMinute: [Int]
  public var finishedPerMinute: [Int]
  /// Resources of active nodes, and what placed tasks reserve of them.
  public var capacity: Resources
  public var allocated: Resources

  /// Minutes of throughput history kept in a summary.
  public static let minutes = 15

  /// Counts `tasks` and `nodes` as of `now`.
  static func of(
    tasks: some Sequence<TaskRecord>,
    nodes: [Node],
    usage: (NodeID) -> NodeUsage,
    queueDepth: Int,
    now: UTCInstant
  ) -> ClusterSummary {
    var byState: [TaskState: Int] = [:]
    var submitted = [Int](repeating: 0, count: minutes)
    var finished = [Int](repeating: 0, count: minutes)
    let minute: Int64 = 60_000_000_000
    let currentMinute = now.nanosecondsSinceEpoch / minute
    func bucket(_ instant: UTCInstant?) -> Int? {
      guard let instant else { return nil }
      let age = currentMinute &- instant.nanosecondsSinceEpoch / minute
      guard age >= 0, age < Int64(minutes) else { return nil }
      return minutes - 1 - Int(age)
    }
    for task in tasks {
      byState[task.state, default: 0] += 1
      if let index = bucket(task.createdAt) { submitted[index] += 1 }
      if task.state.isTerminal, let index = bucket(task.finishedAt) { finished[index] += 1 }
    }
    var byStatus: [NodeStatus: Int] = [:]
    var capacity = Resources.zero
    var allocated = Resources.zero
    for node in nodes {
      byStatus[node.status, default: 0] += 1
      guard node.status == .active else { continue }
      capacity = capacity + node.resources
      allocated = allocated + usage(node.id).allocated
    }
    return ClusterSummary(
      tasksByState: byState,
      queueDepth: queueDepth,
      nodesByStatus: byStatus,
      submittedPerMinute: submitted,
      finishedPerMinute: finished,
      capacity: capacity,
      allocated: allocated
    )
  }
}

extension Cluster {
  /// The cluster at a glance, now.
  func summary() -> ClusterSummary {
    let now = clock.now
    return inspect { cluster in
      ClusterSummary.of(
        tasks: cluster.board.tasks.all,
        nodes: cluster.nodes.nodes(),
        usage: { cluster.board.usage(of: $0) },
        queueDepth: cluster.board.pendingCount + cluster.board.delayed.count,
        now: now
      )
    }
  }
}
