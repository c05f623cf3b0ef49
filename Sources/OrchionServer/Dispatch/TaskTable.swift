import OrchionCore
import OrchionStore

/// The board's tasks by ID, remembering which ones changed since the store last heard, so every
/// transition reaches the store without each transition having to say so.
struct TaskTable: Sendable {
  private var records: [TaskID: TaskRecord] = [:]
  /// Changed since the last ``takeChanges()``, in first-change order.
  private var changed: [TaskID] = []
  private var changedSet: Set<TaskID> = []
  /// Created since the last ``takeChanges()``.
  private var created: Set<TaskID> = []

  var count: Int { records.count }

  /// Every task, in no particular order.
  var all: Dictionary<TaskID, TaskRecord>.Values { records.values }

  subscript(id: TaskID) -> TaskRecord? {
    get { records[id] }
    set {
      records[id] = newValue
      if changedSet.insert(id).inserted { changed.append(id) }
    }
  }

  /// Adds a task that is new to the store.
  mutating func insertNew(_ task: TaskRecord) {
    self[task.id] = task
    created.insert(task.id)
  }

  /// Adds a task loaded from the store: not a change.
  mutating func restore(_ task: TaskRecord) {
    records[task.id] = task
  }

  /// The changes since the last call, as the store records them.
  mutating func takeChanges() -> [StateChange] {
    guard !changed.isEmpty else { return [] }
    var changes: [StateChange] = []
    changes.reserveCapacity(changed.count)
    for id in changed {
      switch (records[id], created.contains(id)) {
      case (nil, true): break  // created and dropped before the store heard of it
      case (nil, false): changes.append(.taskDeleted(id))
      case (let task?, true): changes.append(.taskCreated(task))
      case (let task?, false): changes.append(.taskChanged(task))
      }
    }
    changed.removeAll(keepingCapacity: true)
    changedSet.removeAll(keepingCapacity: true)
    created.removeAll(keepingCapacity: true)
    return changes
  }
}
