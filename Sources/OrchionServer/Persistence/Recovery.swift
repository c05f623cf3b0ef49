import Logging
import OrchionCore
import OrchionStore

/// Loads what a store holds into a starting orchestrator.
///
/// Nodes come back silent (see ``NodeTable/restore(_:now:)``): an agent that reconnects within
/// lost-after carries on with the attempts it runs; attempts on nodes that stay silent are lost
/// and requeued like any others. Output of unfinished tasks is loaded now (their agents append
/// to it); output of finished tasks stays on disk until someone reads it.
struct Recovery {
  let store: any Store
  let cluster: Cluster
  let logs: LogStore
  let tokens: TokenRegistry?
  let secrets: SecretRegistry

  /// Most output chunks loaded per task (the per-task byte limit bounds them long before).
  static let maxChunksPerTask = 1_000_000

  func run(logger: Logger) async throws {
    let nodes = try await store.nodes()
    let tasks = try await store.loadTasks()
    try tokens?.restore(try await store.records(.token))
    try secrets.restore(try await store.records(.secret))
    var finished: [TaskID] = []
    for task in tasks {
      if task.state.isTerminal {
        finished.append(task.id)
      } else {
        let entries = try await store.logs(of: task.id, from: 0, limit: Self.maxChunksPerTask)
        if !entries.isEmpty { logs.restore(task.id, entries: entries, finished: false) }
      }
    }
    logs.markOnDisk(finished)
    cluster.restore(tasks: tasks, nodes: nodes)
    // After the tasks: messages for tasks that finished meanwhile are dropped.
    try cluster.restoreMessages(
      try await store.records(.message),
      consumers: try await store.records(.topicConsumer)
    )
    if !tasks.isEmpty || !nodes.isEmpty {
      logger.notice(
        "state restored",
        metadata: [
          "tasks": "\(tasks.count)", "unfinished": "\(tasks.count - finished.count)",
          "nodes": "\(nodes.count)", "store": "\(store)",
        ]
      )
    }
  }
}
