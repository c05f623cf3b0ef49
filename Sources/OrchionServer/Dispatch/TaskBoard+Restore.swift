import OrchionCore

extension TaskBoard {
  /// Rebuilds the board from the tasks a store holds, as a starting orchestrator does.
  ///
  /// Pending tasks queue again (those in a retry delay wait it out); assigned and running tasks
  /// keep their node and attempt, so an agent that reconnects and reports them carries on (its
  /// processes never stopped), and one that does not is lost like any silent node. Finished
  /// tasks are kept up to the retention limit; older ones are dropped, from the store too.
  mutating func restore(_ records: [TaskRecord]) {
    var finished: [TaskRecord] = []
    for task in records.sorted(by: { $0.id < $1.id }) {
      tasks.restore(task)
      index(task)
      order.append(task.id)
      lastMillisecond = max(lastMillisecond, task.createdAt.nanosecondsSinceEpoch / 1_000_000)
      switch task.state {
      case .pending:
        if let notBefore = task.notBefore {
          delayed.push(task.id, at: notBefore)
        } else {
          pending.insert(task)
        }
      case .assigned, .running:
        guard let node = task.nodeID else { continue }
        var load = loads[node] ?? NodeLoad()
        load.allocated = load.allocated + task.spec.resources
        load.tasks.insert(task.id)
        loads[node] = load
      case .succeeded, .failed, .cancelled:
        finished.append(task)
      }
    }
    finishedOrder = finished.sorted {
      ($0.finishedAt ?? $0.createdAt) < ($1.finishedAt ?? $1.createdAt)
    }
    .map(\.id)
    finishedHead = 0
    _ = evictFinished()
  }
}
