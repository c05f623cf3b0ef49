import OrchionCore

/// Decides where pending tasks run. A pure function: no I/O, no clock, no shared state, so it
/// can be tested case by case and benchmarked alone.
///
/// ```swift
/// let placements = LeastLoadedScheduler().place(queue, in: snapshot)
/// ```
public protocol Scheduler: Sendable {
  /// Places as many of `pending` as fit, in queue order; a task that fits nowhere is skipped
  /// and does not block the ones behind it.
  /// - Parameters:
  ///   - pending: Tasks waiting for a place, in queue order.
  ///   - snapshot: Nodes that may take work, with what is already allocated on them.
  /// - Returns: One placement per placed task.
  func place(_ pending: [PendingTask], in snapshot: ClusterSnapshot) -> [Placement]
}

extension ClusterSnapshot.Node {
  /// Whether `task` may run here: every selector label matches, a slot is free, and its
  /// resources fit in what is free.
  public func admits(_ task: PendingTask) -> Bool {
    hasFreeSlot
      && task.nodeSelector.allSatisfy { key, value in labels[key] == value }
      && task.resources.fits(in: free)
  }

  /// This node with `task` placed on it.
  public mutating func allocate(_ task: PendingTask) {
    allocated = allocated + task.resources
    tasks += 1
  }
}
