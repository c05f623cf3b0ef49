import GRPCCore
import OrchionAPI
import OrchionCore
import OrchionStore
import OrchionWire
import SwiftProtobuf

import struct Foundation.Data

/// `orchion.v1.TaskService`: submit, inspect, list, cancel, and read output.
struct TaskServiceHandler: Orchion_V1_TaskService.SimpleServiceProtocol {
  let cluster: Cluster
  let logs: LogStore
  let store: any Store
  let leadership: Leadership
  /// Secrets a spec may name.
  let secrets: SecretRegistry

  /// Page size when a request says 0, and the largest allowed.
  static let defaultPageSize = 100
  static let maxPageSize = 1000
  /// The longest `name_contains` filter: task names are shorter (TextRules).
  static let maxNameFilterBytes = 256

  func submitTask(
    request: Orchion_V1_SubmitTaskRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_SubmitTaskResponse {
    guard request.hasSpec else {
      throw OrchionError.invalidArgument(field: "spec", "spec: required")
    }
    let spec = try TaskSpec(validating: request.spec)
    try checkSubmittable(spec)
    let parent = try callingTask()
    if let parent { try checkSecretsInherited(spec, from: parent) }
    let task = try await cluster.submit(
      spec,
      parent: parent,
      idempotency: try Self.idempotency(request.idempotencyKey, of: request)
    )
    return .with { $0.task = .init(task) }
  }

  func getTask(
    request: Orchion_V1_GetTaskRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_GetTaskResponse {
    let id = try TaskID(validating: request.taskID)
    guard leadership.isLeader else {
      guard let task = try await store.task(id) else {
        throw OrchionError.notFound("task '\(id)' not found")
      }
      try checkVisibleToCaller(task)
      return .with { $0.task = .init(task) }
    }
    let task = try cluster.task(id)
    try checkVisibleToCaller(task)
    return .with { $0.task = .init(task) }
  }

  func listTasks(
    request: Orchion_V1_ListTasksRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_ListTasksResponse {
    let state = try TaskState.from(request.state, field: "state")
    let node = request.nodeID.isEmpty ? nil : try NodeID(validating: request.nodeID)
    guard (0...Self.maxPageSize).contains(Int(request.pageSize)) else {
      throw OrchionError.invalidArgument(
        field: "page_size",
        "page_size: must be 0-\(Self.maxPageSize)"
      )
    }
    let pageSize = request.pageSize == 0 ? Self.defaultPageSize : Int(request.pageSize)
    let agent = request.agent.isEmpty ? nil : request.agent
    if let agent, !AgentCLI.isValidName(agent) {
      throw OrchionError.invalidArgument(
        field: "agent",
        "agent: \(TextRules.quoted(agent)) is not an agent CLI name (a-z, 0-9, '-')"
      )
    }
    guard request.nameContains.utf8.count <= Self.maxNameFilterBytes else {
      throw OrchionError.invalidArgument(
        field: "name_contains",
        "name_contains: at most \(Self.maxNameFilterBytes) bytes"
      )
    }
    let name = request.nameContains.isEmpty ? nil : request.nameContains.lowercased()
    let token =
      request.pageToken.isEmpty
      ? nil : try TaskID(validating: request.pageToken, field: "page_token")
    let page =
      leadership.isLeader
      ? cluster.list(
        state: state,
        node: node,
        agent: agent,
        nameContains: name,
        pageSize: pageSize,
        after: token
      )
      : try await {
        let page = try await store.tasks(
          TaskQuery(state: state, node: node, pageSize: pageSize, after: token)
        )
        // A follower filters the store's page: it may hold fewer than page_size.
        let kept = page.tasks.filter { task in
          (agent == nil || task.spec.agent?.name == agent)
            && (name.map { task.spec.name.lowercased().contains($0) } ?? true)
        }
        return (kept, page.next)
      }()
    return .with {
      $0.tasks = page.tasks.map(Orchion_V1_Task.init)
      $0.nextPageToken = page.next?.rawValue ?? ""
    }
  }

  func cancelTask(
    request: Orchion_V1_CancelTaskRequest,
    context: ServerContext
  ) async throws -> Orchion_V1_CancelTaskResponse {
    let id = try TaskID(validating: request.taskID)
    if try callingTask() != nil { try checkVisibleToCaller(try cluster.task(id)) }
    let task = try await cluster.cancel(id)
    return .with { $0.task = .init(task) }
  }

  func streamTaskLogs(
    request: Orchion_V1_StreamTaskLogsRequest,
    response: RPCWriter<Orchion_V1_LogChunk>,
    context: ServerContext
  ) async throws {
    let id = try TaskID(validating: request.taskID)
    try await follow(id, follow: request.follow) { read in
      if read.missedSome {
        let amount =
          read.missedBytes > 0
          ? "\(read.missedBytes) bytes of earlier output were" : "earlier output was"
        try await response.write(
          .notice(
            task: id,
            "[orchion] \(amount) dropped: the orchestrator keeps the last \(logs.maxBytesPerTask) bytes per task\n"
          )
        )
      }
      // Agent events are not output: StreamAgentEvents reads them.
      for chunk in read.chunks where chunk.stream != .agentEvent {
        try await response.write(Orchion_V1_LogChunk(chunk))
      }
    } final: { task in
      try await response.write(.final(task))
    }
  }

  /// Hands `id`'s log from the start to `write`, a batch at a time, then — following — each new
  /// batch until the task is terminal, when `final` gets the task as it ended. A follower
  /// (not the leader) answers from the store, without following.
  /// - Parameter from: The position of the first chunk wanted (0: from the start); each read
  ///   says where its chunks start (``LogStore/Read/next`` minus their count).
  /// - Throws: `notFound` for an unknown task, before anything is written.
  func follow(
    _ id: TaskID,
    from start: Int64 = 0,
    follow: Bool,
    write: (LogStore.Read) async throws -> Void,
    final: (Orchion_V1_Task) async throws -> Void
  ) async throws {
    guard leadership.isLeader else {
      try await followStored(id, from: start, follow: follow, write: write, final: final)
      return
    }
    try checkVisibleToCaller(try cluster.task(id))  // NOT_FOUND before any output
    if logs.isOnDisk(id) {
      // Finished before a restart: its output is read back on first use.
      let entries = try await store.logs(of: id, from: 0, limit: Recovery.maxChunksPerTask)
      logs.restore(id, entries: entries, finished: true)
    }
    let (doorbell, cancel) = logs.doorbell(for: id)
    defer { cancel() }
    try await withRPCCancellationHandler {
      var cursor = max(0, start)
      var rings = doorbell.makeAsyncIterator()
      while true {
        let read = logs.read(id, from: cursor)
        try await write(read)
        cursor = read.next
        if read.chunks.isEmpty {
          if read.finished, let task = try? cluster.task(id), task.state.isTerminal {
            try await final(Orchion_V1_Task(task))
            return
          }
          if read.finished || !follow { return }
          // Nothing new: wait for the doorbell (new output, the task finished, or shutdown).
          guard await rings.next() != nil else { return }
        }
      }
    } onCancelRPC: {
      cancel()
    }
  }
}

extension TaskServiceHandler {
  /// A follower's answer: the output the leader has written so far. Following live output
  /// needs the leader.
  private func followStored(
    _ id: TaskID,
    from start: Int64,
    follow: Bool,
    write: (LogStore.Read) async throws -> Void,
    final: (Orchion_V1_Task) async throws -> Void
  ) async throws {
    guard let task = try await store.task(id) else {
      throw OrchionError.notFound("task '\(id)' not found")
    }
    try checkVisibleToCaller(task)
    if follow && !task.state.isTerminal { throw leadership.notLeaderError() }
    var index = max(0, start)
    while true {
      let entries = try await store.logs(of: id, from: index, limit: 1024)
      try await write(
        LogStore.Read(
          chunks: entries.map(\.chunk),
          missedBytes: 0,
          missedSome: (entries.first?.index ?? index) > index,
          next: entries.last.map { $0.index &+ 1 } ?? index,
          finished: true
        )
      )
      guard let last = entries.last, entries.count == 1024 else { break }
      index = last.index &+ 1
    }
    if task.state.isTerminal { try await final(Orchion_V1_Task(task)) }
  }
}

extension Orchion_V1_LogChunk {
  /// A line from Orchion itself in a task's output.
  static func notice(task: TaskID, _ text: String) -> Orchion_V1_LogChunk {
    .with {
      $0.taskID = task.rawValue
      $0.stream = .system
      $0.data = Data(text.utf8)
    }
  }

  /// The last message of a stream whose task is terminal: the task as it ended, no data.
  static func final(_ task: Orchion_V1_Task) -> Orchion_V1_LogChunk {
    .with {
      $0.taskID = task.id
      $0.stream = .system
      $0.finalTask = task
    }
  }
}
