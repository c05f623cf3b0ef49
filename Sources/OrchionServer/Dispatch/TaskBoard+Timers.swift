import OrchionCore

extension TaskBoard {
  /// A drain in progress.
  struct Drain: Sendable {
    /// When tasks still running are stopped and requeued.
    var deadline: UTCInstant
    /// The deadline passed and the stops went out.
    var stopped = false
  }

  /// The next time ``tick(now:)`` has something to do: a retry delay ending or a drain
  /// deadline; `nil` when nothing is waiting.
  var nextWakeUp: UTCInstant? {
    let drain = drains.values.lazy.filter { !$0.stopped }.map(\.deadline).min()
    guard let retry = delayed.first?.deadline else { return drain }
    return drain.map { min($0, retry) } ?? retry
  }

  /// Moves tasks whose retry delay is over into the queue and stops what is left on nodes whose
  /// drain deadline has passed.
  /// - Returns: The stops to send, and whether the queue gained tasks (a pass is worth running).
  mutating func tick(now: UTCInstant) -> (actions: [ClusterAction], queued: Bool) {
    var queued = false
    while let first = delayed.first, first.deadline <= now {
      _ = delayed.popFirst()
      guard var task = tasks[first.key], task.state == .pending,
        let notBefore = task.notBefore, notBefore <= now
      else { continue }
      task.notBefore = nil
      tasks[first.key] = task
      pending.insert(task)
      queued = true
    }
    var actions: [ClusterAction] = []
    for (node, drain) in drains where !drain.stopped && drain.deadline <= now {
      drains[node]?.stopped = true
      for task in placedTasks(on: node) {
        actions += evict(task.id, on: node, as: .drained)
      }
    }
    return (actions, queued)
  }

  /// Drains whose node has no task left: they are complete (the node stays cordoned).
  mutating func takeCompletedDrains() -> [NodeID] {
    let completed = drains.keys.filter { loads[$0] == nil }
    for node in completed { drains[node] = nil }
    return completed
  }

  /// Starts, moves or ends the drain of a node (`nil` ends it).
  mutating func setDrain(_ node: NodeID, deadline: UTCInstant?) {
    guard let deadline else {
      drains[node] = nil
      return
    }
    if drains[node]?.deadline != deadline { drains[node] = Drain(deadline: deadline) }
  }
}
