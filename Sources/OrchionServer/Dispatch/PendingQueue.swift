import OrchionCore

/// Tasks waiting for a place: higher priority first, oldest first within a priority.
///
/// A sorted array with binary-search insert and remove: cheap iteration in queue order, which is
/// what every scheduling pass does; a requeued task returns to its original place.
struct PendingQueue: Sendable {
  private struct Key: Comparable, Sendable {
    var priority: Int32
    var id: TaskID

    static func < (lhs: Key, rhs: Key) -> Bool {
      lhs.priority != rhs.priority ? lhs.priority > rhs.priority : lhs.id < rhs.id
    }
  }

  private var keys: [Key] = []

  var count: Int { keys.count }
  var isEmpty: Bool { keys.isEmpty }
  /// The priority of the task at the head of the queue.
  var highestPriority: Int32? { keys.first?.priority }

  /// Task IDs in queue order.
  var ids: some Sequence<TaskID> { keys.lazy.map(\.id) }

  mutating func insert(_ id: TaskID, priority: Int32) {
    let key = Key(priority: priority, id: id)
    let index = keys.lowerBound(of: key)
    guard index == keys.count || keys[index] != key else { return }
    keys.insert(key, at: index)
  }

  mutating func remove(_ id: TaskID, priority: Int32) {
    let key = Key(priority: priority, id: id)
    let index = keys.lowerBound(of: key)
    if index < keys.count, keys[index] == key { keys.remove(at: index) }
  }

}
