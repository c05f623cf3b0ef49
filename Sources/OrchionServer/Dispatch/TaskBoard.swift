import OrchionCore
import OrchionScheduler

/// The orchestrator's tasks and what is placed where: a value type with no clock, no locks and
/// no I/O. Every mutating method takes `now` and returns the ``DispatchAction``s its caller
/// must perform, so every transition of the task lifecycle is testable on its own.
struct TaskBoard: Sendable {
  /// Limits that keep the board's memory bounded.
  struct Limits: Sendable {
    /// Finished tasks kept for `GetTask`, `ListTasks` and `logs`; the oldest go first.
    var retainedFinishedTasks: Int
    /// Node losses a task survives without using an attempt; one more fails it.
    var maxLostAttempts: Int32
  }

  private struct NodeLoad: Sendable {
    var allocated = Resources.zero
    var tasks: Set<TaskID> = []
  }

  let limits: Limits
  private(set) var tasks: [TaskID: TaskRecord] = [:]
  /// All task IDs in creation order (IDs sort by creation).
  private var order: [TaskID] = []
  private var pending = PendingQueue()
  private var loads: [NodeID: NodeLoad] = [:]
  /// Finished tasks in the order they finished, for retention.
  private var finishedOrder: [TaskID] = []
  private var finishedHead = 0
  private var sequence: UInt32 = 0
  private var lastMillisecond: Int64 = 0

  init(limits: Limits) {
    self.limits = limits
  }

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
    pageSize: Int,
    after token: TaskID?
  ) -> (tasks: [TaskRecord], next: TaskID?) {
    var end = order.count
    if let token { end = order.lowerBound(of: token) }
    var page: [TaskRecord] = []
    var index = end - 1
    while index >= 0, page.count < pageSize {
      if let task = tasks[order[index]], state == nil || task.state == state,
        node == nil || task.nodeID == node
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

  // MARK: Submit and schedule

  /// Accepts a validated spec as a new pending task.
  mutating func submit(_ spec: TaskSpec, now: UTCInstant) -> TaskRecord {
    let milliseconds = now.nanosecondsSinceEpoch / 1_000_000
    if milliseconds > lastMillisecond {
      lastMillisecond = milliseconds
      sequence = UInt32.random(in: 0..<(1 << 24))  // unpredictable, room to count up
    } else {
      sequence &+= 1
    }
    let id = TaskID(
      createdAt: UTCInstant(nanosecondsSinceEpoch: lastMillisecond * 1_000_000),
      sequence: sequence
    )
    let task = TaskRecord(id: id, spec: spec, createdAt: now)
    tasks[id] = task
    order.append(id)
    pending.insert(id, priority: spec.priority)
    return task
  }

  /// Runs the scheduler over the pending queue and applies its placements.
  /// - Parameters:
  ///   - nodes: Nodes that may take work (active and connected), with capacity and labels.
  ///   - scheduler: The placement policy.
  mutating func schedule(
    nodes: [ClusterSnapshot.Node],
    scheduler: some Scheduler,
    now: UTCInstant,
    generator: inout some RandomNumberGenerator
  ) -> [DispatchAction] {
    guard !pending.isEmpty, !nodes.isEmpty else { return [] }
    var snapshot = ClusterSnapshot(nodes: nodes)
    for index in snapshot.nodes.indices {
      let load = loads[snapshot.nodes[index].id] ?? NodeLoad()
      snapshot.nodes[index].allocated = load.allocated
      snapshot.nodes[index].tasks = load.tasks.count
    }
    // Every slot taken (the usual state under load, when each finished task triggers a pass):
    // nothing can be placed, so do not build the queue or run the scheduler at all.
    guard snapshot.nodes.contains(where: \.hasFreeSlot) else { return [] }
    let queue = pending.ids.compactMap { id in
      tasks[id].map {
        PendingTask(id: id, resources: $0.spec.resources, nodeSelector: $0.spec.nodeSelector)
      }
    }
    var actions: [DispatchAction] = []
    for placement in scheduler.place(queue, in: snapshot) {
      guard var task = tasks[placement.task], task.state == .pending else { continue }
      pending.remove(task.id, priority: task.spec.priority)
      task.state = .assigned
      task.nodeID = placement.node
      task.attempt += 1
      task.attemptID = AttemptID.random(using: &generator)
      task.exitCode = nil
      task.startedAt = nil
      task.message = ""
      tasks[task.id] = task
      loads[placement.node, default: NodeLoad()].allocated =
        (loads[placement.node]?.allocated ?? .zero) + task.spec.resources
      loads[placement.node, default: NodeLoad()].tasks.insert(task.id)
      if let attemptID = task.attemptID {
        actions.append(
          .assign(
            placement.node,
            .init(task: task.id, attemptID: attemptID, attempt: task.attempt, spec: task.spec)
          )
        )
      }
    }
    return actions
  }

  /// Puts an assignment that could not be delivered back in the queue, as if never placed.
  mutating func undeliverable(_ id: TaskID, attempt: AttemptID) {
    guard var task = tasks[id], task.attemptID == attempt, task.state == .assigned else { return }
    release(task)
    task.state = .pending
    task.attempt -= 1
    task.message = "requeued: node went away before the assignment reached it"
    tasks[id] = task
    pending.insert(id, priority: task.spec.priority)
  }

  // MARK: Cancel

  /// Cancels a task: a pending one at once; a placed one once its agent confirms its process
  /// tree is gone. A finished task is returned unchanged.
  mutating func cancel(_ id: TaskID, now: UTCInstant) throws(OrchionError) -> (
    TaskRecord, [DispatchAction]
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
        [.stop(node, task: id, attempt: attempt, state: .cancelled, reason: "cancelled by request")]
      )
    }
  }

  // MARK: Reports from agents

  /// Applies a status report from `node`. Reports from an attempt that is not the task's
  /// current one on that node are stale: the agent is told to stop it.
  mutating func report(_ report: AttemptReport, from node: NodeID, now: UTCInstant)
    -> [DispatchAction]
  {
    let stopStale: [DispatchAction] =
      report.state.isTerminal || report.state == .pending
      ? []
      : [
        .stop(
          node,
          task: report.task,
          attempt: report.attempt,
          state: .cancelled,
          reason: "stale attempt: the task has moved on"
        )
      ]
    guard var task = tasks[report.task], task.attemptID == report.attempt, task.nodeID == node,
      task.state == .assigned || task.state == .running
    else { return stopStale }

    switch report.state {
    case .running:
      if task.state == .assigned {
        task.state = .running
        task.startedAt = report.time
        if !task.cancelRequested { task.message = "" }
        tasks[task.id] = task
      }
      // A cancel that crossed the assignment on the wire: say it again.
      return task.cancelRequested
        ? [
          .stop(
            node,
            task: task.id,
            attempt: report.attempt,
            state: .cancelled,
            reason: "cancelled by request"
          )
        ]
        : []
    case .succeeded:
      task.exitCode = report.exitCode
      tasks[task.id] = task
      return finish(task.id, as: .succeeded, message: report.message, now: now)
    case .failed:
      task.exitCode = report.exitCode
      task.failedAttempts += 1
      tasks[task.id] = task
      if task.cancelRequested {
        return finish(task.id, as: .cancelled, message: "cancelled by request", now: now)
      }
      if task.failedAttempts < task.spec.maxAttempts {
        return requeue(
          task.id,
          message: "attempt \(task.attempt) failed (\(report.message)); will retry"
        )
      }
      return finish(task.id, as: .failed, message: report.message, now: now)
    case .cancelled:
      task.exitCode = report.exitCode
      tasks[task.id] = task
      if task.cancelRequested {
        return finish(task.id, as: .cancelled, message: "cancelled by request", now: now)
      }
      return lost(task.id, message: "stopped by its agent (\(report.message))", now: now)
    case .pending:
      return lost(task.id, message: "returned by its agent (\(report.message))", now: now)
    case .assigned:
      return []
    }
  }

  /// Whether logs from `attempt` of `task` on `node` belong to the task's current attempt.
  func acceptsLogs(task id: TaskID, attempt: AttemptID, from node: NodeID) -> Bool {
    guard let task = tasks[id] else { return false }
    return task.attemptID == attempt && task.nodeID == node
  }

  // MARK: Node events

  /// A node reconnected and says which attempts it runs. Those that are not current are
  /// stopped; current ones it no longer runs were lost (its agent restarted) and are requeued.
  mutating func reconcile(
    node: NodeID,
    running: [(task: TaskID, attempt: AttemptID)],
    now: UTCInstant
  ) -> [DispatchAction] {
    var actions: [DispatchAction] = []
    var reported = Set<TaskID>()
    for (id, attempt) in running {
      if let task = tasks[id], task.attemptID == attempt, task.nodeID == node,
        task.state == .assigned || task.state == .running
      {
        reported.insert(id)
        if task.cancelRequested {
          actions.append(
            .stop(
              node,
              task: id,
              attempt: attempt,
              state: .cancelled,
              reason: "cancelled by request"
            )
          )
        }
      } else {
        actions.append(
          .stop(
            node,
            task: id,
            attempt: attempt,
            state: .cancelled,
            reason: "stale attempt: the task has moved on"
          )
        )
      }
    }
    for task in placedTasks(on: node) where !reported.contains(task.id) {
      actions += lost(task.id, message: "its agent restarted and no longer runs it", now: now)
    }
    return actions
  }

  /// A node is gone: its attempts are lost and their tasks requeued.
  mutating func nodeLost(_ node: NodeID, now: UTCInstant) -> [DispatchAction] {
    var actions: [DispatchAction] = []
    for task in placedTasks(on: node) {
      actions += lost(task.id, message: "node \(node) was lost", now: now)
    }
    return actions
  }

  // MARK: Transitions

  private mutating func lost(_ id: TaskID, message: String, now: UTCInstant) -> [DispatchAction] {
    guard var task = tasks[id] else { return [] }
    if task.cancelRequested {
      return finish(id, as: .cancelled, message: "cancelled by request", now: now)
    }
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
    return requeue(id, message: message + "; requeued")
  }

  private mutating func requeue(_ id: TaskID, message: String) -> [DispatchAction] {
    guard var task = tasks[id] else { return [] }
    release(task)
    task.state = .pending
    task.message = message
    tasks[id] = task
    pending.insert(id, priority: task.spec.priority)
    return []
  }

  private mutating func finish(
    _ id: TaskID,
    as state: TaskState,
    message: String,
    now: UTCInstant
  ) -> [DispatchAction] {
    guard var task = tasks[id] else { return [] }
    release(task)
    pending.remove(id, priority: task.spec.priority)
    task.state = state
    task.message = message
    task.finishedAt = now
    tasks[id] = task
    finishedOrder.append(id)
    return [.finished(id)] + evictFinished()
  }

  private mutating func release(_ task: TaskRecord) {
    guard let node = task.nodeID, var load = loads[node], load.tasks.contains(task.id) else {
      return
    }
    load.tasks.remove(task.id)
    load.allocated = load.allocated - task.spec.resources
    loads[node] = load.tasks.isEmpty ? nil : load
  }

  private mutating func evictFinished() -> [DispatchAction] {
    var actions: [DispatchAction] = []
    while finishedOrder.count - finishedHead > limits.retainedFinishedTasks {
      let id = finishedOrder[finishedHead]
      finishedHead += 1
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
