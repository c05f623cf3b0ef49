import OrchionCore
import OrchionScheduler

/// The orchestrator's tasks and what is placed where: a value type with no clock, no locks and
/// no I/O. Every mutating method takes `now` and returns the ``ClusterAction``s its caller
/// must perform, so every transition of the task lifecycle is testable on its own.
///
/// The transitions live in extensions by concern: scheduling (`TaskBoard+Scheduling`), agent
/// reports and node events (`TaskBoard+Reports`), retry delays and drains (`TaskBoard+Timers`).
struct TaskBoard: Sendable {
  /// Limits that keep the board's memory bounded, and the queue's fairness rule.
  struct Limits: Sendable {
    /// Finished tasks kept for `GetTask`, `ListTasks` and `logs`; the oldest go first.
    var retainedFinishedTasks: Int
    /// Node losses a task survives without using an attempt; one more fails it.
    var maxLostAttempts: Int32
    /// A task pending this long that still fits nowhere holds a node for itself.
    var reserveAfter: Duration = .seconds(300)
  }

  struct NodeLoad: Sendable {
    var allocated = Resources.zero
    var tasks: Set<TaskID> = []
  }

  let limits: Limits
  /// Every task in memory; remembers which changed, for the store.
  var tasks = TaskTable()
  /// All task IDs in creation order (IDs sort by creation).
  var order: [TaskID] = []
  /// Pending tasks that may be placed now.
  var pending = PendingQueue()
  /// Pending tasks waiting out a retry delay, by when they may be placed.
  var delayed = DeadlineHeap<TaskID>()
  var loads: [NodeID: NodeLoad] = [:]
  /// Nodes being drained, and when their remaining tasks are stopped.
  var drains: [NodeID: Drain] = [:]
  /// Where the last round-robin placement went, so turns continue across passes.
  var roundRobinLast: NodeID?
  /// Finished tasks in the order they finished, for retention.
  var finishedOrder: [TaskID] = []
  var finishedHead = 0
  var sequence: UInt32 = 0
  var lastMillisecond: Int64 = 0
  /// Every group's members, in index order (members forgotten by retention drop out).
  var groups: [GroupID: Set<TaskID>] = [:]
  /// Submissions by idempotency key (``TaskBoard+Groups``).
  var submissions: [String: Submission] = [:]
  /// How attempts ended since the shell last asked (``ClusterState/takeClosedAttempts()``),
  /// for its metrics.
  var closedAttempts: [AttemptOutcome] = []

  init(limits: Limits) {
    self.limits = limits
  }

  /// Pending tasks that may be placed now (not those waiting out a retry delay).
  var pendingCount: Int { pending.count }

  // MARK: Queries

  func task(_ id: TaskID) throws(OrchionError) -> TaskRecord {
    guard let task = tasks[id] else { throw .notFound("task '\(id)' not found") }
    return task
  }

  /// Usage of a node: what its placed tasks reserve.
  func usage(of node: NodeID) -> NodeUsage {
    guard let load = loads[node] else { return .none }
    return NodeUsage(allocated: load.allocated, tasks: load.tasks.count)
  }

  /// Tasks newest first, after `token` (exclusive), filtered.
  func list(
    state: TaskState?,
    node: NodeID?,
    agent: String? = nil,
    nameContains: String? = nil,
    pageSize: Int,
    after token: TaskID?
  ) -> (tasks: [TaskRecord], next: TaskID?) {
    let needle = nameContains?.lowercased()
    var end = order.count
    if let token { end = order.lowerBound(of: token) }
    var page: [TaskRecord] = []
    var index = end - 1
    while index >= 0, page.count < pageSize {
      if let task = tasks[order[index]], state == nil || task.state == state,
        node == nil || task.nodeID == node, agent == nil || task.spec.agent?.name == agent,
        needle.map({ task.spec.name.lowercased().contains($0) }) ?? true
      {
        page.append(task)
      }
      index -= 1
    }
    let more = page.count == pageSize && index >= 0
    return (page, more ? page.last?.id : nil)
  }

  /// Tasks placed on `node` (assigned or running).
  func placedTasks(on node: NodeID) -> [TaskRecord] {
    (loads[node]?.tasks ?? []).compactMap { tasks[$0] }
  }

  // MARK: Submit

  /// Accepts a validated spec as a new pending task.
  mutating func submit(_ spec: TaskSpec, parent: TaskID? = nil, now: UTCInstant) -> TaskRecord {
    submit(spec, id: newID(now: now), parent: parent, now: now)
  }

  /// A fresh task ID for a task submitted now: time-ordered, unique on this board.
  mutating func newID(now: UTCInstant) -> TaskID {
    let milliseconds = now.nanosecondsSinceEpoch / 1_000_000
    if milliseconds > lastMillisecond {
      lastMillisecond = milliseconds
      sequence = UInt32.random(in: 0..<(1 << 24))  // unpredictable, room to count up
    } else {
      sequence &+= 1
    }
    var id = TaskID(
      createdAt: UTCInstant(nanosecondsSinceEpoch: lastMillisecond * 1_000_000),
      sequence: sequence
    )
    // Only after a restart with the clock set back can a fresh ID meet a restored one.
    while tasks[id] != nil {
      sequence &+= 1
      id = TaskID(
        createdAt: UTCInstant(nanosecondsSinceEpoch: lastMillisecond * 1_000_000),
        sequence: sequence
      )
    }
    return id
  }

  /// Queues a task under `id` (from ``newID(now:)``).
  mutating func submit(
    _ spec: TaskSpec,
    id: TaskID,
    parent: TaskID? = nil,
    membership: GroupMembership? = nil,
    idempotency: IdempotencyKey? = nil,
    now: UTCInstant,
    message: String = ""
  ) -> TaskRecord {
    var task = TaskRecord(id: id, spec: spec, createdAt: now)
    task.message = message
    task.parent = parent
    task.membership = membership
    task.idempotency = idempotency
    index(task)
    tasks.insertNew(task)
    order.append(id)
    pending.insert(task)
    return task
  }

  // MARK: Cancel

  /// Cancels a task: a pending one at once; a placed one once its agent confirms its process
  /// tree is gone. A finished task is returned unchanged.
  mutating func cancel(_ id: TaskID, now: UTCInstant) throws(OrchionError) -> (
    TaskRecord, [ClusterAction]
  ) {
    guard var task = tasks[id] else { throw .notFound("task '\(id)' not found") }
    switch task.state {
    case .succeeded, .failed, .cancelled:
      return (task, [])
    case .pending:
      pending.remove(id, priority: task.spec.priority)
      task.cancelRequested = true
      tasks[id] = task
      let actions = finish(id, as: .cancelled, message: "cancelled before it ran", now: now)
      return (tasks[id] ?? task, actions)
    case .assigned, .running:
      task.cancelRequested = true
      task.message = "cancelling"
      tasks[id] = task
      guard let node = task.nodeID, let attempt = task.attemptID else { return (task, []) }
      return (
        task,
        [.stopAttempt(node, id, attempt, reason: "cancelled by request")]
      )
    }
  }

  // MARK: Transitions shared by the extensions

  /// Ends the current attempt's record.
  mutating func closeAttempt(
    of id: TaskID,
    as outcome: AttemptOutcome,
    termination: TerminationReason,
    exitCode: Int32? = nil,
    reason: String,
    now: UTCInstant
  ) {
    tasks[id]?.updateCurrentAttempt { attempt in
      guard attempt.outcome == .active else { return }
      closedAttempts.append(outcome)
      attempt.outcome = outcome
      attempt.termination = termination
      attempt.exitCode = exitCode
      attempt.reason = reason
      attempt.finishedAt = now
    }
  }

  /// The attempt was lost with its node or agent: requeued without using up an attempt, up to
  /// ``Limits/maxLostAttempts`` times.
  mutating func lost(_ id: TaskID, message: String, now: UTCInstant) -> [ClusterAction] {
    guard var task = tasks[id] else { return [] }
    closeAttempt(of: id, as: .lost, termination: .lost, reason: message, now: now)
    if task.cancelRequested {
      return finish(id, as: .cancelled, message: "cancelled by request", now: now)
    }
    task = tasks[id] ?? task
    task.lostAttempts += 1
    tasks[id] = task
    if task.lostAttempts > limits.maxLostAttempts {
      return finish(
        id,
        as: .failed,
        message: "\(message); lost \(task.lostAttempts) times, giving up",
        now: now
      )
    }
    return requeue(id, message: message + "; requeued", now: now)
  }

  /// How long a task its agent handed back waits before it is placed again: the node is
  /// leaving or full, and until its goodbye or next report arrives the scheduler would hand it
  /// the same task at once, over and over.
  static let returnDelay = Duration.seconds(1)

  /// An attempt its agent handed back without finishing it (the agent is shutting down, or
  /// had no free slot): the node's doing, not the task's, so it uses up neither an attempt
  /// nor one of the losses a task survives — a node shutting down must not fail the task it
  /// returns (it used to be handed the task again at once, until the losses ran out).
  mutating func returned(_ id: TaskID, message: String, now: UTCInstant) -> [ClusterAction] {
    guard let task = tasks[id] else { return [] }
    closeAttempt(of: id, as: .lost, termination: .lost, reason: message, now: now)
    if task.cancelRequested {
      return finish(id, as: .cancelled, message: "cancelled by request", now: now)
    }
    return requeue(id, message: message + "; requeued", now: now, delay: Self.returnDelay)
  }

  /// Returns a task to PENDING, at once or after `delay`.
  mutating func requeue(
    _ id: TaskID,
    message: String,
    now: UTCInstant,
    delay: Duration = .zero
  ) -> [ClusterAction] {
    guard var task = tasks[id] else { return [] }
    release(task)
    task.state = .pending
    task.message = message
    task.eviction = nil
    task.queuedAt = now
    if delay > .zero {
      let notBefore = now.advanced(by: delay)
      task.notBefore = notBefore
      delayed.push(id, at: notBefore)
    } else {
      task.notBefore = nil
      pending.insert(task)
    }
    tasks[id] = task
    return []
  }

  mutating func finish(
    _ id: TaskID,
    as state: TaskState,
    message: String,
    now: UTCInstant
  ) -> [ClusterAction] {
    guard var task = tasks[id] else { return [] }
    release(task)
    pending.remove(id, priority: task.spec.priority)
    task.state = state
    task.message = message
    // A cancel wins whatever the last attempt did; otherwise the task ended as it did.
    task.termination = state == .cancelled ? .cancelled : task.attempts.last?.termination
    task.finishedAt = now
    task.notBefore = nil
    task.eviction = nil
    tasks[id] = task
    finishedOrder.append(id)
    return [.finished(id)] + evictFinished()
  }

  mutating func release(_ task: TaskRecord) {
    guard let node = task.nodeID, var load = loads[node], load.tasks.contains(task.id) else {
      return
    }
    load.tasks.remove(task.id)
    load.allocated = load.allocated - task.spec.resources
    loads[node] = load.tasks.isEmpty ? nil : load
  }

  /// Forgets the oldest finished tasks past the retention limit, and with them their group
  /// membership and idempotency key. (Keeping keyed tasks longer would make memory grow with
  /// throughput: every CLI submission carries a key.)
  mutating func evictFinished() -> [ClusterAction] {
    var actions: [ClusterAction] = []
    while finishedOrder.count - finishedHead > limits.retainedFinishedTasks {
      let id = finishedOrder[finishedHead]
      finishedHead += 1
      if let task = tasks[id] { unindex(task) }
      tasks[id] = nil
      let index = order.lowerBound(of: id)
      if index < order.count, order[index] == id { order.remove(at: index) }
      actions.append(.evicted(id))
    }
    // Compact the consumed prefix now and then, so it does not grow without bound.
    if finishedHead > 4096, finishedHead * 2 > finishedOrder.count {
      finishedOrder.removeFirst(finishedHead)
      finishedHead = 0
    }
    return actions
  }
}
