import OrchionCore

extension TaskBoard {
  /// The next time ``tick(now:)`` has something to do: a retry delay ending or a drain
  /// deadline; `nil` when nothing is waiting.
  var nextWakeUp: UTCInstant? {
    let drain = drains.values.min()
    guard let retry = delayed.first?.deadline else { return drain }
    return drain.map { min($0, retry) } ?? retry
  }

  /// Moves tasks whose retry delay is over into the queue and stops what is left on nodes whose
  /// drain deadline has passed.
  /// - Returns: The stops to send, and whether the queue gained tasks (a pass is worth running).
  mutating func tick(now: UTCInstant) -> (actions: [DispatchAction], queued: Bool) {
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
    var actions: [DispatchAction] = []
    for (node, deadline) in drains where deadline <= now {
      drains[node] = nil
      for task in placedTasks(on: node) {
        actions += evict(task.id, on: node, as: .drained)
      }
    }
    return (actions, queued)
  }

  /// Starts, moves or ends the drain of a node (`nil` ends it).
  mutating func setDrain(_ node: NodeID, deadline: UTCInstant?) {
    drains[node] = deadline
  }
}
