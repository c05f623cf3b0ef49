import Logging
import OrchionAPI
import OrchionCore
import OrchionScheduler
import OrchionStore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// The I/O shell around the ``TaskBoard``: it takes submissions, cancellations and agent
/// reports, runs scheduling passes when something changed, and delivers the board's actions to
/// agent sessions and the log store.
///
/// Every change of the board goes to the ``Journal`` while the lock is held, with what must
/// follow it (messages to agents, acknowledgements, answers); the journal performs those only
/// once the change is durable. So what one agent receives is in the order the board decided it
/// (a stop never overtakes the assignment it refers to), and nothing is said that a crash could
/// take back.
final class TaskDispatcher: NodeUsageSource, Sendable {
  private struct State: Sendable {
    var board: TaskBoard
    var sessions: [NodeID: AgentSession] = [:]
    var nextSessionID: UInt64 = 0
    var generator = SystemRandomNumberGenerator()
  }

  private let state: Mutex<State>
  private let registry: NodeRegistry
  private let scheduler: any Scheduler
  private let logs: LogStore
  private let journal: Journal
  private let logger: Logger
  /// Where tasks reach the orchestrator (`ORCHION_SERVER`); known only once it listens when the
  /// port is chosen by the system.
  private let advertisedAddress: @Sendable () -> String
  /// Where assignments get the values of the secrets their specs name.
  private let secrets: SecretRegistry?
  /// Signs the token each attempt gets for the router.
  private let taskTokens: TaskTokens?
  /// Told (outside the lock) of every task that finished.
  private let finishedObservers = Mutex<[@Sendable (TaskID) -> Void]>([])
  private let kicks: AsyncStream<Void>
  private let kick: AsyncStream<Void>.Continuation

  init(
    registry: NodeRegistry,
    logs: LogStore,
    journal: Journal,
    limits: TaskBoard.Limits,
    scheduler: any Scheduler,
    advertisedAddress: @escaping @Sendable () -> String,
    secrets: SecretRegistry? = nil,
    taskTokens: TaskTokens? = nil,
    logger: Logger
  ) {
    self.secrets = secrets
    self.taskTokens = taskTokens
    self.registry = registry
    self.logs = logs
    self.journal = journal
    self.logger = logger
    self.advertisedAddress = advertisedAddress
    self.scheduler = scheduler
    state = Mutex(State(board: TaskBoard(limits: limits)))
    (kicks, kick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  private var now: UTCInstant { registry.clock.now }

  // MARK: Tasks

  /// Accepts a task; returns once it is durable.
  /// - Throws: `resourceExhausted` (changing nothing) while the store is full.
  func submit(_ spec: TaskSpec) async throws -> TaskRecord {
    try journal.checkAccepting()
    let now = now
    let (task, entry) = state.withLock { state in
      let task = state.board.submit(spec, now: now)
      return (task, record([], in: &state))
    }
    kick.yield()
    try await journal.waitUntilDurable(entry)
    return task
  }

  func task(_ id: TaskID) throws(OrchionError) -> TaskRecord {
    try state.withLock { state throws(OrchionError) in try state.board.task(id) }
  }

  /// A task's state; `nil` when it is not known (or was forgotten).
  func state(of id: TaskID) -> TaskState? {
    state.withLock { try? $0.board.task(id).state }
  }

  /// The node running `attempt` while it is the task's current, unfinished attempt.
  func currentNode(of id: TaskID, attempt: AttemptID) -> NodeID? {
    state.withLock { state in
      guard let task = try? state.board.task(id), task.attemptID == attempt,
        task.state == .assigned || task.state == .running
      else { return nil }
      return task.nodeID
    }
  }

  /// Calls `observer` with every task that finishes from now on.
  func observeFinished(_ observer: @escaping @Sendable (TaskID) -> Void) {
    finishedObservers.withLock { $0.append(observer) }
  }

  func list(
    state filter: TaskState?,
    node: NodeID?,
    pageSize: Int,
    after token: TaskID?
  ) -> (tasks: [TaskRecord], next: TaskID?) {
    state.withLock { $0.board.list(state: filter, node: node, pageSize: pageSize, after: token) }
  }

  /// Cancels a task; returns once the cancellation is durable.
  func cancel(_ id: TaskID) async throws -> TaskRecord {
    try journal.checkAccepting()
    let now = now
    let (task, entry) = try state.withLock { state throws(OrchionError) in
      let (task, actions) = try state.board.cancel(id, now: now)
      return (task, record(actions, in: &state))
    }
    try await journal.waitUntilDurable(entry)
    return task
  }

  func usage(of id: NodeID) -> NodeUsage {
    state.withLock { $0.board.usage(of: id) }
  }

  /// Puts back the tasks and drains a store held before a restart (see
  /// ``TaskBoard/restore(_:)``). Finished tasks beyond retention are dropped from the store.
  func restore(_ tasks: [TaskRecord], nodes: [Node]) {
    state.withLock { state in
      state.board.restore(tasks)
      for node in nodes where node.status != .disconnected {
        state.board.setDrain(node.id, deadline: node.drainDeadline)
      }
      record([], in: &state)
    }
    kick.yield()
  }

  // MARK: Agents

  /// Opens a session for a node whose agent runs `running`; an older session of the node ends.
  func attach(
    node: NodeID,
    running: [(task: TaskID, attempt: AttemptID)],
    outbound: AsyncStream<Orchion_V1_ServerMessage>.Continuation
  ) -> AgentSession {
    let now = now
    let (session, previous) = state.withLock { state in
      state.nextSessionID += 1
      let session = AgentSession(id: state.nextSessionID, node: node, outbound: outbound)
      let previous = state.sessions.updateValue(session, forKey: node)
      let actions = state.board.reconcile(node: node, running: running, now: now)
      record(actions, in: &state)
      return (session, previous)
    }
    previous?.close()
    kick.yield()
    return session
  }

  /// Forgets a session that ended (unless a newer one replaced it).
  func detach(_ session: AgentSession) {
    state.withLock { state in
      if state.sessions[session.node]?.id == session.id { state.sessions[session.node] = nil }
    }
    session.close()
  }

  /// Applies status reports from a node's agent; `then` runs once they are durable (the
  /// agent's acknowledgement).
  func report(_ reports: [AttemptReport], from node: NodeID, then: Journal.Effect? = nil) {
    let now = now
    state.withLock { state in
      var actions: [DispatchAction] = []
      for report in reports {
        actions += state.board.report(report, from: node, now: now)
      }
      record(actions, in: &state, then: then)
    }
    kick.yield()
  }

  /// Stores output from a node's agent, if it belongs to the task's current attempt there;
  /// `then` runs once it is durable.
  ///
  /// Only the check takes the dispatcher's lock: storing the chunks (and waking followers)
  /// happens after it, so a chatty task never holds up scheduling and reports. (A task
  /// evicted between the check and the store would get its log back, bounded, until the
  /// next restart: eviction needs `retainedFinishedTasks` tasks to finish after it, so this
  /// window holds no current attempt in practice.)
  func appendLogs(
    _ entries: [AgentInput.Log],
    from node: NodeID,
    then: Journal.Effect? = nil
  ) {
    // Decided under the lock, stored after it.
    let accepted = state.withLock { state in
      entries.filter { state.board.acceptsLogs(task: $0.task, attempt: $0.attempt, from: node) }
    }
    var changes: [StateChange] = []
    changes.reserveCapacity(accepted.count)
    for entry in accepted {
      guard let appended = logs.append(entry.chunk, task: entry.task, attempt: entry.attempt)
      else { continue }
      changes.append(
        .logAppended(
          StoredLogEntry(
            task: entry.task,
            index: appended.index,
            attempt: entry.attempt,
            chunk: entry.chunk
          )
        )
      )
      if let before = appended.trimmedBefore {
        changes.append(.logTrimmed(entry.task, before: before))
      }
    }
    // Output is not part of the board's state: its journal entry need not be ordered with
    // the board's changes, only before the acknowledgement that follows it.
    if changes.isEmpty, then == nil { return }
    journal.append(changes, then: then)
  }

  /// Runs `effect` once everything recorded so far is durable.
  func afterCommit(_ effect: @escaping Journal.Effect) {
    state.withLock { state in _ = record([], in: &state, then: effect) }
  }

  /// Reacts to node status changes: new or returning nodes may take work; lost nodes' tasks
  /// move elsewhere.
  func nodesChanged(_ transitions: [NodeTransition]) {
    let now = now
    var closed: [AgentSession] = []
    state.withLock { state in
      var actions: [DispatchAction] = []
      var changes: [StateChange] = []
      for transition in transitions {
        let removed = transition.reason == .forgotten || transition.reason == .unregistered
        changes.append(removed ? .nodeDeleted(transition.node.id) : .nodeSaved(transition.node))
        // Kept in step on every change, so a drain survives its node re-registering. A cordon
        // or drain of a node that is already gone is not a second loss.
        guard transition.node.status == .disconnected, transition.reason != .scheduling else {
          state.board.setDrain(transition.node.id, deadline: transition.node.drainDeadline)
          continue
        }
        actions += state.board.nodeLost(transition.node.id, now: now)
        if let session = state.sessions.removeValue(forKey: transition.node.id) {
          closed.append(session)
        }
      }
      // A forced drain is due now.
      actions += state.board.tick(now: now).actions
      record(actions, in: &state, changes: changes)
    }
    for session in closed { session.close() }
    kick.yield()
  }

  // MARK: Scheduling

  /// Runs a scheduling pass whenever something changed, coalescing bursts into one pass.
  func runSchedulingLoop() async {
    for await _ in kicks {
      schedulePass()
    }
  }

  /// Wakes for retry delays and drain deadlines; checks at least every `resolution`, so a
  /// deadline set while it sleeps is noticed that late at most.
  func runTimerLoop(resolution: Duration = .milliseconds(100)) async {
    let clock = registry.clock
    while !Task.isCancelled {
      let now = clock.now
      let next = state.withLock { $0.board.nextWakeUp }
      let wake = min(next ?? now.advanced(by: resolution), now.advanced(by: resolution))
      do {
        try await clock.sleep(until: wake, tolerance: nil)
      } catch {
        return
      }
      let (queued, completedDrains) = state.withLock { state in
        let (actions, queued) = state.board.tick(now: clock.now)
        record(actions, in: &state)
        return (queued, state.board.takeCompletedDrains())
      }
      if queued { kick.yield() }
      // Outside the lock: the registry tells its observers, this dispatcher among them.
      for node in completedDrains { registry.finishDrain(node) }
    }
  }

  /// Places what can be placed now.
  func schedulePass() {
    // Most kicks (an agent attaching, a status report) find nothing to place: check before
    // copying and sorting every active node, which with 10,000 nodes dominated a storm of
    // reconnecting agents.
    guard state.withLock({ $0.board.pendingCount > 0 }) else { return }
    let active = registry.nodes(status: .active)
    let now = now
    state.withLock { state in
      guard state.board.pendingCount > 0 else { return }
      let nodes = active.compactMap { node -> ClusterSnapshot.Node? in
        guard state.sessions[node.id] != nil else { return nil }
        return ClusterSnapshot.Node(
          id: node.id,
          status: node.status,
          cordoned: node.cordoned,
          labels: node.labels,
          capacity: node.resources,
          slots: node.slots
        )
      }
      let actions = state.board.schedule(
        nodes: nodes,
        scheduler: scheduler,
        now: now,
        generator: &state.generator
      )
      record(actions, in: &state)
    }
  }

  /// Ends every agent session, so their streams do not hold the server's shutdown up.
  func closeSessions() {
    let sessions = state.withLock { state in
      defer { state.sessions.removeAll() }
      return Array(state.sessions.values)
    }
    for session in sessions { session.close() }
  }

  /// Ends the scheduling loop.
  func stopScheduling() {
    kick.finish()
  }

  // MARK: Actions

  /// Hands the board's changes since the last call, and `changes` beside them, to the journal;
  /// `actions` and then `then` are performed once they are durable. Called with the lock held,
  /// so the journal's order is the board's.
  /// - Returns: The journal entry, to wait for.
  @discardableResult
  private func record(
    _ actions: [DispatchAction],
    in state: inout State,
    changes: [StateChange] = [],
    then: Journal.Effect? = nil
  ) -> UInt64 {
    let changes = state.board.tasks.takeChanges() + changes
    guard !actions.isEmpty else { return journal.append(changes, then: then) }
    return journal.append(changes) { [self] in
      deliver(actions)
      then?()
    }
  }

  /// Performs actions whose changes are durable: messages to agents, log followers.
  private func deliver(_ actions: [DispatchAction]) {
    var finished: [TaskID] = []
    defer {
      if !finished.isEmpty {
        let observers = finishedObservers.withLock { $0 }
        for task in finished { for observer in observers { observer(task) } }
      }
    }
    state.withLock { state in
      var requeued = false
      for action in actions {
        switch action {
        case .assign(let node, let assignment):
          let message = Orchion_V1_ServerMessage.with {
            $0.assign = .with {
              $0.taskID = assignment.task.rawValue
              $0.attemptID = assignment.attemptID.rawValue
              $0.attempt = assignment.attempt
              $0.spec = .init(assignment.spec)
              $0.serverAddress = advertisedAddress()
              $0.secretValues = secrets?.values(for: assignment.spec.secretEnvironment) ?? [:]
              $0.taskToken =
                taskTokens?.token(task: assignment.task, attempt: assignment.attemptID) ?? ""
            }
          }
          if state.sessions[node]?.send(message) != true {
            state.board.undeliverable(assignment.task, attempt: assignment.attemptID)
            requeued = true
          }
        case .stop(let node, let task, let attempt, let stopState, let reason):
          logger.debug(
            "stopping attempt",
            metadata: [
              LoggingKeys.taskID: "\(task)", LoggingKeys.attemptID: "\(attempt)",
              LoggingKeys.nodeID: "\(node)", LoggingKeys.reason: "\(reason)",
            ]
          )
          state.sessions[node]?.send(
            .with {
              $0.stop = .with {
                $0.taskID = task.rawValue
                $0.attemptID = attempt.rawValue
                $0.state = .init(stopState)
                $0.reason = reason
              }
            }
          )
        case .finished(let task):
          logs.finish(task)
          finished.append(task)
        case .evicted(let task):
          logs.remove(task)
        }
      }
      if requeued {
        record([], in: &state)
        kick.yield()
      }
    }
  }
}
