import Foundation
import OrchionCore

/// The net effect of a batch of changes, for stores that write a batch as a few set-based
/// statements instead of one statement per change: each task, node and output chunk appears
/// once, with its last value.
struct ChangeSet: Sendable {
  /// Tasks new to the store, with their last value in the batch.
  var created: [TaskRecord] = []
  /// Tasks that existed, with their last value.
  var changed: [TaskRecord] = []
  /// Tasks (and their output) to delete.
  var deleted: [TaskID] = []
  var logs: [StoredLogEntry] = []
  /// Per task, the first output position to keep.
  var trims: [TaskID: Int64] = [:]
  var savedNodes: [Node] = []
  var deletedNodes: [NodeID] = []
  /// Keyed records saved (with a body) or deleted (`nil`), each once with its last value, so
  /// they can be written in any order (a routed message is often saved and acknowledged in
  /// one batch).
  var keyed: [(kind: RecordKind, id: String, body: Data?)] = []

  init(_ changes: [StateChange]) {
    var tasks: [TaskID: (record: TaskRecord?, created: Bool)] = [:]
    var taskOrder: [TaskID] = []
    var nodes: [NodeID: Node?] = [:]
    var nodeOrder: [NodeID] = []
    var logIndex: [StoredLogKey: Int] = [:]
    var keyedIndex: [KeyedKey: Int] = [:]
    for change in changes {
      switch change {
      case .taskCreated(let task):
        if tasks[task.id] == nil { taskOrder.append(task.id) }
        tasks[task.id] = (task, true)
      case .taskChanged(let task):
        if tasks[task.id] == nil { taskOrder.append(task.id) }
        tasks[task.id] = (task, tasks[task.id]?.created ?? false)
      case .taskDeleted(let id):
        if tasks[id] == nil { taskOrder.append(id) }
        tasks[id] = (nil, false)
      case .logAppended(let entry):
        let key = StoredLogKey(task: entry.task, index: entry.index)
        if let existing = logIndex[key] {
          logs[existing] = entry
        } else {
          logIndex[key] = logs.count
          logs.append(entry)
        }
      case .logTrimmed(let task, let before):
        trims[task] = max(trims[task] ?? before, before)
      case .nodeSaved(let node):
        if nodes[node.id] == nil { nodeOrder.append(node.id) }
        nodes[node.id] = .some(node)
      case .nodeDeleted(let id):
        if nodes[id] == nil { nodeOrder.append(id) }
        nodes[id] = .some(nil)
      case .recordSaved(let record):
        Self.keep((record.kind, record.id, record.body), in: &keyed, index: &keyedIndex)
      case .recordDeleted(let kind, let id):
        Self.keep((kind, id, nil), in: &keyed, index: &keyedIndex)
      }
    }
    for id in taskOrder {
      guard let entry = tasks[id] else { continue }
      switch (entry.record, entry.created) {
      case (let task?, true): created.append(task)
      case (let task?, false): changed.append(task)
      case (nil, _): deleted.append(id)
      }
    }
    for id in nodeOrder {
      if let node = nodes[id] ?? nil { savedNodes.append(node) } else { deletedNodes.append(id) }
    }
  }

  private static func keep(
    _ entry: (kind: RecordKind, id: String, body: Data?),
    in keyed: inout [(kind: RecordKind, id: String, body: Data?)],
    index: inout [KeyedKey: Int]
  ) {
    let key = KeyedKey(kind: entry.kind, id: entry.id)
    if let existing = index[key] {
      keyed[existing] = entry
    } else {
      index[key] = keyed.count
      keyed.append(entry)
    }
  }

  private struct KeyedKey: Hashable {
    var kind: RecordKind
    var id: String
  }

  private struct StoredLogKey: Hashable {
    var task: TaskID
    var index: Int64
  }
}
