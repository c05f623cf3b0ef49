public import Foundation
public import OrchionCore

/// The orchestrator's durable state: tasks, nodes and task output.
///
/// The orchestrator keeps its working state in memory and writes every change here *before*
/// anything depends on it: a submission is answered, an assignment sent, an agent's report
/// acknowledged only once ``commit(_:)`` has returned. So after a crash of any process, what
/// the store holds is everything anyone was told.
///
/// Two implementations pass one contract suite: ``SQLiteStore`` (embedded, the default) and
/// ``PostgresStore`` (shared by several orchestrators, one of which leads).
public protocol Store: Sendable {
  /// Applies `changes` atomically, in order, and durably: when this returns they survive a
  /// crash of this process or of the machine.
  ///
  /// A call whose task is cancelled returns promptly, whatever the database is doing: a
  /// shutdown must not wait on a connection that stopped answering.
  /// - Throws: `storeUnavailable` when the store cannot be reached (nothing was applied, or,
  ///   when the connection broke during COMMIT or the call was cancelled, perhaps everything),
  ///   `storeFull` when it has no space, `leaseLost` when this orchestrator no longer holds
  ///   the leader lease.
  func commit(_ changes: [StateChange]) async throws(OrchionError)

  /// Every task the store holds, oldest first: what a starting leader loads.
  func loadTasks() async throws(OrchionError) -> [TaskRecord]

  /// One task.
  func task(_ id: TaskID) async throws(OrchionError) -> TaskRecord?

  /// Tasks newest first, after `token` (exclusive), filtered by state and node.
  func tasks(_ query: TaskQuery) async throws(OrchionError) -> TaskPage

  /// Every node the store holds, ordered by ID.
  func nodes() async throws(OrchionError) -> [Node]

  /// Up to `limit` chunks of a task's output from position `index` on, in order.
  func logs(of task: TaskID, from index: Int64, limit: Int) async throws(OrchionError)
    -> [StoredLogEntry]

  /// Every record of `kind` (tokens, secrets), ordered by ID.
  func records(_ kind: RecordKind) async throws(OrchionError) -> [KeyedRecord]

  /// Writes everything the store holds, one record at a time: nodes, then tasks oldest first,
  /// each followed by its output. Tokens and secrets are left out: an export is for reading
  /// and moving the work, and must not carry credentials.
  func export(_ emit: (ExportedRecord) throws -> Void) async throws

  /// Releases connections and files. Further calls fail.
  func close() async
}

/// One change to durable state, named by what happened.
public enum StateChange: Sendable {
  /// A task was accepted.
  case taskCreated(TaskRecord)
  /// A task changed: placed, started, finished, requeued, cancelled, an attempt recorded.
  case taskChanged(TaskRecord)
  /// A finished task was dropped by retention, with its output.
  case taskDeleted(TaskID)
  /// A chunk of a task's output was accepted.
  case logAppended(StoredLogEntry)
  /// A task's output before `index` was dropped (its per-task limit was reached).
  case logTrimmed(TaskID, before: Int64)
  /// A node registered, changed status, or was cordoned, drained or uncordoned.
  case nodeSaved(Node)
  /// A node was forgotten.
  case nodeDeleted(NodeID)
  /// A token, secret or routed message was created or replaced.
  case recordSaved(KeyedRecord)
  /// A token was revoked, a secret removed, a message acknowledged or expired.
  case recordDeleted(RecordKind, id: String)
}

/// What a ``KeyedRecord`` holds.
public enum RecordKind: String, Sendable, CaseIterable {
  /// An API token's digest and description (`orchion.v1.StoredToken`).
  case token
  /// A task secret, encrypted (`orchion.v1.StoredSecret`).
  case secret
  /// A routed message waiting in a mailbox (`orchion.v1.StoredMessage`).
  case message
  /// A named topic consumer, remembered while it is away; ID `TOPIC~CONSUMER`, empty body.
  case topicConsumer = "topic-consumer"
}

/// A record kept by kind and ID: credentials, secrets, routed messages.
public struct KeyedRecord: Sendable, Equatable {
  public var kind: RecordKind
  public var id: String
  /// The encoded record (binary protobuf).
  public var body: Data

  public init(kind: RecordKind, id: String, body: Data) {
    self.kind = kind
    self.id = id
    self.body = body
  }
}

/// A chunk of task output with its position.
public struct StoredLogEntry: Sendable, Equatable {
  public var task: TaskID
  /// Position among all chunks ever accepted for the task, from 0.
  public var index: Int64
  public var attempt: AttemptID
  public var chunk: LogChunk

  public init(task: TaskID, index: Int64, attempt: AttemptID, chunk: LogChunk) {
    self.task = task
    self.index = index
    self.attempt = attempt
    self.chunk = chunk
  }
}

/// Which tasks to list.
public struct TaskQuery: Sendable, Equatable {
  public var state: TaskState?
  public var node: NodeID?
  public var pageSize: Int
  /// The last task of the previous page.
  public var after: TaskID?

  public init(state: TaskState? = nil, node: NodeID? = nil, pageSize: Int, after: TaskID? = nil) {
    self.state = state
    self.node = node
    self.pageSize = pageSize
    self.after = after
  }
}

/// One page of a task listing.
public struct TaskPage: Sendable, Equatable {
  public var tasks: [TaskRecord]
  /// Where the next page starts; `nil` when this is the last one.
  public var next: TaskID?

  public init(tasks: [TaskRecord], next: TaskID?) {
    self.tasks = tasks
    self.next = next
  }
}
