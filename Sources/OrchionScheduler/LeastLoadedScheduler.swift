/// Places each task on the least-loaded node that admits it (ties: fewest tasks, then node ID),
/// updating loads as it goes, so a burst of tasks spreads over the nodes.
public struct LeastLoadedScheduler: Scheduler {
  /// Creates the scheduler.
  public init() {}

  public func place(_ pending: [PendingTask], in snapshot: ClusterSnapshot) -> [Placement] {
    var nodes = snapshot.nodes
    var placements: [Placement] = []
    placements.reserveCapacity(min(pending.count, 1024))
    // Once no node has a free slot nothing else can be placed: stop instead of scanning the rest
    // of the queue.
    var nodesWithFreeSlots = nodes.filter(\.hasFreeSlot).count
    for task in pending {
      guard nodesWithFreeSlots > 0 else { break }
      var best: Int?
      for index in nodes.indices where nodes[index].admits(task) {
        guard let current = best else {
          best = index
          continue
        }
        if Self.isLessLoaded(nodes[index], than: nodes[current]) { best = index }
      }
      guard let best else { continue }
      nodes[best].allocate(task)
      if !nodes[best].hasFreeSlot { nodesWithFreeSlots -= 1 }
      placements.append(Placement(task: task.id, node: nodes[best].id))
    }
    return placements
  }

  private static func isLessLoaded(
    _ lhs: ClusterSnapshot.Node,
    than rhs: ClusterSnapshot.Node
  ) -> Bool {
    if lhs.load != rhs.load { return lhs.load < rhs.load }
    if lhs.tasks != rhs.tasks { return lhs.tasks < rhs.tasks }
    return lhs.id < rhs.id
  }
}
