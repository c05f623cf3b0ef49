import OrchionCore
import OrchionScheduler

/// Tasks waiting for a place: higher priority first, oldest first within a priority.
///
/// A sorted array of the scheduler's own view of each task, with binary-search insert and
/// remove: a scheduling pass hands the array to the scheduler as it is (a copy-on-write
/// reference, not a rebuild), and a requeued task returns to its original place.
struct PendingQueue: Sendable {
  private(set) var tasks: [PendingTask] = []

  var count: Int { tasks.count }
  var isEmpty: Bool { tasks.isEmpty }
  /// The priority of the task at the head of the queue.
  var highestPriority: Int32? { tasks.first?.priority }

  /// Queues `task` (once).
  mutating func insert(_ task: TaskRecord) {
    let index = position(of: task.id, priority: task.spec.priority)
    guard index == tasks.count || tasks[index].id != task.id else { return }
    tasks.insert(
      PendingTask(
        id: task.id,
        resources: task.spec.resources,
        nodeSelector: task.spec.nodeSelector,
        constraints: task.spec.constraints,
        priority: task.spec.priority,
        strategy: task.spec.strategy,
        queuedAt: task.queuedAt,
        node: task.spec.node,
        distinctGroup: task.membership.flatMap { $0.spread ? $0.group.rawValue : nil }
      ),
      at: index
    )
  }

  mutating func remove(_ id: TaskID, priority: Int32) {
    let index = position(of: id, priority: priority)
    if index < tasks.count, tasks[index].id == id { tasks.remove(at: index) }
  }

  /// Where a task with this ID and priority is, or would go.
  private func position(of id: TaskID, priority: Int32) -> Int {
    var low = 0
    var high = tasks.count
    while low < high {
      let middle = (low + high) / 2
      let other = tasks[middle]
      let before = other.priority != priority ? other.priority > priority : other.id < id
      if before { low = middle + 1 } else { high = middle }
    }
    return low
  }
}
