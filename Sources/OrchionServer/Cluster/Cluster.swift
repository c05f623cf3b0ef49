import CoreMetrics
import Logging
import OrchionAPI
import OrchionCore
import OrchionScheduler
import OrchionStore
import Synchronization

/// The one writer of the orchestrator's state: the shell around the pure ``ClusterState``.
///
/// Every event — a registration, a heartbeat, a submission, an agent's report, a stream that
/// opened or ended, a tick of the clock — is one transition of the state under one lock. The
/// transition's changes go to the ``Journal`` in the same critical section, so the store's
/// order is the order of decisions; what must follow them (messages to agents, log followers)
/// is performed by ``perform(_:)`` once they are durable, with no lock held. Streams the state
/// ends are closed right after the lock.
///
/// A lock rather than an actor: transitions are short, synchronous and never wait, and the
/// gRPC handlers that feed them must not hop executors for every heartbeat.
final class Cluster: Sendable {
  /// The state, and the live streams it refers to by ``SessionID`` and subscription ID.
  ///
  /// One lock for all, because an identity and its stream are created, replaced and dropped
  /// together. Held only to run a transition (which never waits) or to read; never while
  /// sending, logging, encrypting or awaiting.
  let state: Mutex<Shell>
  let clock: any WallClock
  let logger: Logger
  let logs: LogStore
  let journal: Journal
  private let scheduler: any Scheduler
  /// Where tasks reach the orchestrator (`ORCHION_SERVER`); known only once it listens when the
  /// port is chosen by the system.
  let advertisedAddress: @Sendable () -> String
  /// Where assignments get the values of the secrets their specs name.
  let secrets: SecretRegistry?
  /// Signs the token each attempt gets for the router.
  let taskTokens: TaskTokens?
  private let kicks: AsyncStream<Void>
  private let kick: AsyncStream<Void>.Continuation

  struct Shell: Sendable {
    var cluster: ClusterState
    var streams: [SessionID: AgentSession] = [:]
    /// The router's live subscriptions, by the ID the state knows them by.
    var subscriptions: [UInt64: Subscription] = [:]
    /// Deliveries decided but not yet handed to their subscriptions, in the order decided.
    var outbox: [(subscription: Subscription, delivery: MailboxDelivery)] = []
    /// A caller is handing the outbox over now (see ``flushDeliveries()``).
    var flushing = false
  }

  init(
    nodes: NodeTable.Configuration,
    limits: TaskBoard.Limits,
    router: RouterLimits = .defaults,
    clock: any WallClock,
    logs: LogStore,
    journal: Journal,
    scheduler: any Scheduler,
    advertisedAddress: @escaping @Sendable () -> String,
    secrets: SecretRegistry? = nil,
    taskTokens: TaskTokens? = nil,
    metrics: ServerMetrics = .none,
    logger: Logger
  ) {
    self.metrics = metrics
    self.clock = clock
    self.logs = logs
    self.journal = journal
    self.scheduler = scheduler
    self.advertisedAddress = advertisedAddress
    self.secrets = secrets
    self.taskTokens = taskTokens
    self.logger = logger
    state = Mutex(Shell(cluster: ClusterState(nodes: nodes, limits: limits, router: router)))
    (kicks, kick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  /// What the shell counts and times.
  let metrics: ServerMetrics

  /// The node timing rules.
  var configuration: NodeTable.Configuration { state.withLock { $0.cluster.nodes.configuration } }

  // MARK: Transitions

  /// Runs one transition of the state (see ``transitionShell(wake:then:_:)``).
  @discardableResult
  private func transition<Result, Failure: Error>(
    wake: Bool = true,
    then: Journal.Effect? = nil,
    _ body: (inout ClusterState, UTCInstant) throws(Failure) -> (Result, [ClusterAction])
  ) throws(Failure) -> (result: Result, entry: UInt64?) {
    try transitionShell(wake: wake, then: then) { shell, now throws(Failure) in
      try body(&shell.cluster, now)
    }
  }

  /// Runs one transition: its changes are journaled in the same critical section; its actions
  /// (and then `then`) are performed once they are durable, except those that are
  /// ``ClusterAction/isImmediate``, performed right after the lock. `wake` runs a scheduling
  /// pass after it.
  /// - Returns: What the transition returned, and its journal entry to wait for (`nil` when
  ///   it changed nothing and asked for nothing).
  @discardableResult
  func transitionShell<Result, Failure: Error>(
    wake: Bool,
    then: Journal.Effect?,
    _ body: (inout Shell, UTCInstant) throws(Failure) -> (Result, [ClusterAction])
  ) throws(Failure) -> (result: Result, entry: UInt64?) {
    let now = clock.now
    let (result, entry, ended) = try state.withLock {
      shell throws(Failure) -> (Result, UInt64?, Ended) in
      let (result, actions) = try body(&shell, now)
      for outcome in shell.cluster.takeClosedAttempts() { metrics.attemptEnded(outcome) }
      var later: [ClusterAction] = []
      var ended = Ended()
      for action in actions {
        switch action {
        case .endSession(let id):
          if let stream = shell.streams.removeValue(forKey: id) { ended.sessions.append(stream) }
        case .deliver(let id, let delivery):
          metrics.routerDelivered.increment()
          if delivery.count > 1 { metrics.routerRedelivered.increment() }
          guard let subscription = shell.subscriptions[id] else { continue }
          shell.outbox.append((subscription, delivery))
          ended.delivered = true
        case .endSubscription(let id, let error):
          if let subscription = shell.subscriptions.removeValue(forKey: id) {
            ended.subscriptions.append((subscription, error))
          }
        case .assign:
          metrics.placements.increment()
          later.append(action)
        case .reveal(let ids):
          metrics.routerAccepted.increment(by: Int64(ids.count))
          later.append(action)
        case .stop, .finished, .evicted:
          later.append(action)
        }
      }
      let changes = shell.cluster.takeChanges()
      guard !changes.isEmpty || !later.isEmpty || then != nil else { return (result, nil, ended) }
      // The journal's lock is a leaf (nothing is called while it is held): taking it here is
      // what makes the store's order the order of these transitions.
      let entry: UInt64
      if later.isEmpty {
        entry = journal.append(changes, then: then)
      } else {
        let actions = later
        entry = journal.append(changes) { [self] in
          perform(actions)
          then?()
        }
      }
      return (result, entry, ended)
    }
    for stream in ended.sessions { stream.close() }
    // Deliveries first: a subscription ends after what was decided for it before.
    if ended.delivered { flushDeliveries() }
    for (subscription, error) in ended.subscriptions {
      if let error {
        subscription.continuation.finish(throwing: error)
      } else {
        subscription.continuation.finish()
      }
    }
    if wake { kick.yield() }
    return (result, entry)
  }

  /// What a transition's immediate actions leave to do once the lock is released.
  private struct Ended {
    var sessions: [AgentSession] = []
    var subscriptions: [(Subscription, OrchionError?)] = []
    var delivered = false
  }

  /// Reads the state.
  private func read<Value>(_ body: (ClusterState) throws(OrchionError) -> Value)
    throws(OrchionError) -> Value
  {
    try state.withLock { shell throws(OrchionError) in try body(shell.cluster) }
  }

  /// Reads the state with a body that cannot fail.
  func inspect<Value>(_ body: (ClusterState) -> Value) -> Value {
    state.withLock { body($0.cluster) }
  }

  /// The stream that speaks for `node` now, if any.
  func stream(of node: NodeID) -> AgentSession? {
    state.withLock { shell in shell.cluster.sessions[node].flatMap { shell.streams[$0] } }
  }

  // MARK: Nodes

  /// Registers a node, or updates the one under its ID.
  /// - Parameter credential: Decides, given the node already under the ID, whether the caller
  ///   may register it and which credential digest the node keeps. It runs inside the
  ///   transition, so no other registration of the ID slips in between check and write: it
  ///   must only compare (digests are computed before).
  /// - Throws: `invalidArgument` for a registration that breaks a documented limit; what
  ///   `credential` throws.
  func register(
    _ registration: NodeRegistration,
    credential: (Node?) throws(OrchionError) -> [UInt8]? = { _ in nil }
  ) throws(OrchionError) -> (node: Node, created: Bool) {
    try registration.validate()
    var generator = SystemRandomNumberGenerator()
    return try transition { state, now throws(OrchionError) in
      let result = try state.register(registration, now: now, credential: credential) {
        NodeID.random(using: &generator)
      }
      return ((result.node, result.created), result.actions)
    }.result
  }

  /// Records a heartbeat from a node.
  /// - Throws: `notFound` for an unknown node; `failedPrecondition` for a disconnected one.
  @discardableResult
  func heartbeat(_ id: NodeID) throws(OrchionError) -> Node {
    let started = ContinuousClock.now
    metrics.heartbeats.increment()
    defer { metrics.heartbeatHandling.record(ContinuousClock.now - started) }
    let now = clock.now
    // Most heartbeats change no status: they need neither the journal nor a pass.
    let plain = try state.withLock { shell throws(OrchionError) -> Node? in
      guard let node = shell.cluster.nodes.node(id), node.status == .active else { return nil }
      return try shell.cluster.heartbeat(id, now: now).node
    }
    if let plain { return plain }
    return try transition { state, now throws(OrchionError) in
      let result = try state.heartbeat(id, now: now)
      return (result.node, result.actions)
    }.result
  }

  /// The node's agent said goodbye: disconnected, it stays listed.
  func leave(_ id: NodeID) throws(OrchionError) -> Node {
    try transition { state, now throws(OrchionError) in try state.leave(id, now: now) }.result
  }

  /// Removes a node (`UnregisterNode`); its work is requeued.
  func remove(_ id: NodeID) throws(OrchionError) -> Node {
    try transition { state, now throws(OrchionError) in try state.remove(id, now: now) }.result
  }

  /// Cordons, uncordons (ending any drain) or drains a node until `drainDeadline`.
  func setScheduling(
    _ id: NodeID,
    cordoned: Bool,
    drainDeadline: UTCInstant? = nil
  ) throws(OrchionError) -> Node {
    try transition { state, now throws(OrchionError) in
      try state.setScheduling(id, cordoned: cordoned, drainDeadline: drainDeadline, now: now)
    }.result
  }

  /// Cordons a node, keeping any drain deadline it has.
  func cordon(_ id: NodeID) throws(OrchionError) -> Node {
    try transition { state, now throws(OrchionError) in
      guard let node = state.nodes.node(id) else {
        throw .notFound("node '\(id)' is not registered")
      }
      return try state.setScheduling(
        id,
        cordoned: true,
        drainDeadline: node.drainDeadline,
        now: now
      )
    }.result
  }

  /// Applies the node status changes due now.
  /// - Returns: The changes, for the log.
  @discardableResult
  func expireOverdue() -> [NodeTransition] {
    transition { state, now in state.expire(now: now) }.result
  }

  /// The node with `id`.
  /// - Throws: `notFound` for an unknown node.
  func node(_ id: NodeID) throws(OrchionError) -> Node {
    try read { state throws(OrchionError) in
      guard let node = state.nodes.node(id) else {
        throw .notFound("node '\(id)' is not registered")
      }
      return node
    }
  }

  /// Nodes with the given status (all when `nil`), ordered by ID.
  func nodes(status: NodeStatus? = nil) -> [Node] {
    state.withLock { $0.cluster.nodes.nodes(status: status) }
  }

  /// The number of known nodes, disconnected ones included.
  var nodeCount: Int { state.withLock { $0.cluster.nodes.count } }

  func usage(of id: NodeID) -> NodeUsage {
    state.withLock { $0.cluster.board.usage(of: id) }
  }

  // MARK: Tasks

  /// Accepts a task; returns once it is durable.
  /// - Throws: `resourceExhausted` (changing nothing) while the store is full.
  func submit(
    _ spec: TaskSpec,
    parent: TaskID? = nil,
    idempotency: IdempotencyKey? = nil
  ) async throws -> TaskRecord {
    try journal.checkAccepting()
    let (task, entry) = try transition { state, now throws(OrchionError) in
      (try state.submit(spec, parent: parent, idempotency: idempotency, now: now), [])
    }
    // A repeated key returns the earlier task: still wait, in case its commit is in flight;
    // it is not a new submission.
    try await journal.waitUntilDurable(entry ?? journal.lastEntry)
    if entry != nil { metrics.submissions.increment() }
    return task
  }

  /// Accepts a group in one transition, so one commit: all durable before it returns, or
  /// none.
  func submitGroup(
    _ members: [(spec: TaskSpec, item: String?)],
    spread: Bool = false,
    parent: TaskID? = nil,
    idempotency: IdempotencyKey? = nil
  ) async throws -> [TaskRecord] {
    try journal.checkAccepting()
    let (tasks, entry) = try transition { state, now throws(OrchionError) in
      (try state.submitGroup(members, spread: spread, parent: parent, idempotency: idempotency, now: now), [])
    }
    try await journal.waitUntilDurable(entry ?? journal.lastEntry)
    if entry != nil { metrics.submissions.increment(by: Int64(tasks.count)) }
    return tasks
  }

  /// A group's members, in index order.
  func members(of group: GroupID) throws(OrchionError) -> [TaskRecord] {
    try read { state throws(OrchionError) in try state.board.members(of: group) }
  }

  /// Cancels every member not yet finished; returns once the cancellations are durable.
  func cancelGroup(_ group: GroupID) async throws -> [TaskRecord] {
    try journal.checkAccepting()
    let (tasks, entry) = try transition { state, now throws(OrchionError) in
      var actions: [ClusterAction] = []
      for member in try state.board.members(of: group) where !member.state.isTerminal {
        actions += try state.cancel(member.id, now: now).1
      }
      return (try state.board.members(of: group), actions)
    }
    if let entry { try await journal.waitUntilDurable(entry) }
    return tasks
  }

  /// Cancels a task; returns once the cancellation is durable.
  func cancel(_ id: TaskID) async throws -> TaskRecord {
    try journal.checkAccepting()
    let (task, entry) = try transition { state, now throws(OrchionError) in
      try state.cancel(id, now: now)
    }
    if let entry { try await journal.waitUntilDurable(entry) }
    return task
  }

  func task(_ id: TaskID) throws(OrchionError) -> TaskRecord {
    try read { state throws(OrchionError) in try state.board.task(id) }
  }

  /// A task's state; `nil` when it is not known (or was forgotten).
  func state(of id: TaskID) -> TaskState? {
    state.withLock { try? $0.cluster.board.task(id).state }
  }

  /// The node running `attempt` while it is the task's current, unfinished attempt.
  func currentNode(of id: TaskID, attempt: AttemptID) -> NodeID? {
    state.withLock { shell in
      guard shell.cluster.isCurrent(id, attempt: attempt) else { return nil }
      return try? shell.cluster.board.task(id).nodeID
    }
  }

  func list(
    state filter: TaskState?,
    node: NodeID?,
    agent: String? = nil,
    nameContains: String? = nil,
    pageSize: Int,
    after token: TaskID?
  ) -> (tasks: [TaskRecord], next: TaskID?) {
    state.withLock {
      $0.cluster.board.list(
        state: filter,
        node: node,
        agent: agent,
        nameContains: nameContains,
        pageSize: pageSize,
        after: token
      )
    }
  }

  /// Puts back the nodes and tasks a store held before a restart (see
  /// ``ClusterState/restore(tasks:nodes:now:)``). Finished tasks beyond retention are dropped
  /// from the store.
  func restore(tasks: [TaskRecord], nodes: [Node]) {
    transition { state, now in
      state.restore(tasks: tasks, nodes: nodes, now: now)
      return ((), [])
    }
  }

  // MARK: Agents

  /// Opens a session for a node whose agent runs `running`; an older session of the node ends.
  func attach(
    node: NodeID,
    running: [(task: TaskID, attempt: AttemptID)],
    outbound: AsyncStream<Orchion_V1_ServerMessage>.Continuation
  ) -> AgentSession {
    transitionShell(wake: true, then: nil) { shell, now in
      let (id, actions) = shell.cluster.attach(node: node, running: running, now: now)
      let session = AgentSession(id: id, node: node, outbound: outbound)
      shell.streams[id] = session
      return (session, actions)
    }.result
  }

  /// Forgets a session that ended (unless a newer one replaced it).
  func detach(_ session: AgentSession) {
    state.withLock { shell in
      if shell.cluster.detach(session.id, node: session.node) {
        shell.streams[session.id] = nil
      }
    }
    session.close()
  }

  /// Ends every agent session, so their streams do not hold the server's shutdown up.
  func closeSessions() {
    transition(wake: false) { state, _ in ((), state.detachAll()) }
  }

  /// Applies status reports from a node's agent; `then` runs once they are durable (the
  /// agent's acknowledgement).
  func report(_ reports: [AttemptReport], from node: NodeID, then: Journal.Effect? = nil) {
    transition(then: then) { state, now in ((), state.report(reports, from: node, now: now)) }
  }

  /// An assignment did not reach its agent: the task is placed again.
  func undeliverable(_ task: TaskID, attempt: AttemptID) {
    transition { state, _ in
      state.undeliverable(task, attempt: attempt)
      return ((), [])
    }
  }

  /// Runs `effect` once everything recorded so far is durable.
  func afterCommit(_ effect: @escaping Journal.Effect) {
    transition(wake: false, then: effect) { _, _ in ((), []) }
  }

  /// Stores output from a node's agent, if it belongs to the task's current attempt there;
  /// `then` runs once it is durable.
  ///
  /// Only the check takes the lock: storing the chunks (and waking followers) happens after
  /// it, so a chatty task never holds up scheduling and reports. (A task evicted between the
  /// check and the store would get its log back, bounded, until the next restart: eviction
  /// needs `retainedFinishedTasks` tasks to finish after it, so this window holds no current
  /// attempt in practice.)
  func appendLogs(
    _ entries: [AgentInput.Log],
    from node: NodeID,
    then: Journal.Effect? = nil
  ) {
    let accepted = state.withLock { shell in
      entries.filter {
        shell.cluster.board.acceptsLogs(task: $0.task, attempt: $0.attempt, from: node)
      }
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
    // Output is not part of the cluster's state: its journal entry need not be ordered with
    // the state's changes, only before the acknowledgement that follows it.
    if changes.isEmpty, then == nil { return }
    journal.append(changes, then: then)
  }

  // MARK: Scheduling and timers

  /// Runs a scheduling pass whenever something changed, coalescing bursts into one pass.
  func runSchedulingLoop() async {
    for await _ in kicks { schedulePass() }
  }

  /// Places what can be placed now.
  func schedulePass() {
    // Most kicks (an agent attaching, a status report) find nothing to place: check first.
    guard state.withLock({ $0.cluster.board.pendingCount > 0 }) else { return }
    let started = ContinuousClock.now
    defer { metrics.schedulingPass.record(ContinuousClock.now - started) }
    transition(wake: false) { [scheduler] state, now in
      var generator = SystemRandomNumberGenerator()
      return ((), state.schedule(scheduler: scheduler, now: now, generator: &generator))
    }
  }

  /// Wakes for retry delays and drain deadlines; checks at least every `resolution`, so a
  /// deadline set while it sleeps is noticed that late at most.
  func runTimerLoop(resolution: Duration = .milliseconds(100)) async {
    while !Task.isCancelled {
      let now = clock.now
      let next = state.withLock { $0.cluster.board.nextWakeUp }
      let wake = min(next ?? now.advanced(by: resolution), now.advanced(by: resolution))
      do {
        try await clock.sleep(until: wake, tolerance: nil)
      } catch {
        return
      }
      if tick() { kick.yield() }
    }
  }

  /// Applies what is due now: retry delays, drain deadlines, the router's ack timeouts and
  /// TTLs, subscriptions of attempts that ended.
  /// - Returns: Whether there is something new to place.
  @discardableResult
  func tick() -> Bool {
    transition(wake: false) { state, now in
      let (actions, wake) = state.tick(now: now)
      return (wake, actions)
    }.result
  }

  /// Ends the scheduling loop.
  func stopScheduling() {
    kick.finish()
  }
}
