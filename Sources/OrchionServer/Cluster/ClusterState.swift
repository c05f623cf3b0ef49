import OrchionCore
import OrchionScheduler
import OrchionStore

/// Everything the orchestrator decides about: the nodes, the tasks and what is placed where,
/// which agent stream speaks for each node, and the router's mailboxes and subscriptions. A value type with no clock, no locks and no
/// I/O: every transition takes `now` and returns the ``ClusterAction``s its shell
/// (``Cluster``) must perform; the changes to persist accumulate until ``takeChanges()``.
///
/// Node events and task events go through the same value, so a node's loss and what it means
/// for its tasks are one transition: a heartbeat expiry's DISCONNECTED and a re-registration's
/// ACTIVE cannot reach the task board in the wrong order, because there is no second party for
/// them to cross on the way to. Likewise a message to a task and the task's end: whether the
/// task may still be written to is decided in the same transition that queues the message.
struct ClusterState: Sendable {
  private(set) var nodes: NodeTable
  private(set) var board: TaskBoard
  /// The live agent stream of each node that has one.
  private(set) var sessions: [NodeID: SessionID] = [:]
  /// The router's mailboxes and live subscriptions (as identities).
  var mailboxes: MailboxTable
  private var lastSession: UInt64 = 0
  /// Node changes not yet taken for the store (the board keeps its own).
  private var nodeChanges: [StateChange] = []

  init(
    nodes: NodeTable.Configuration,
    limits: TaskBoard.Limits,
    router: RouterLimits = .defaults
  ) {
    self.nodes = NodeTable(configuration: nodes)
    self.board = TaskBoard(limits: limits)
    self.mailboxes = MailboxTable(limits: router)
  }

  /// The changes made since the last call, in the order they were made, for the journal.
  mutating func takeChanges() -> [StateChange] {
    defer { nodeChanges.removeAll(keepingCapacity: true) }
    let tasks = board.tasks.takeChanges()
    let messages = mailboxes.takeChanges()
    if nodeChanges.isEmpty, messages.isEmpty { return tasks }
    // Node changes first: a task placed on a node refers to a node the store already has.
    return nodeChanges + tasks + messages
  }

  /// How attempts ended since the last call, for the shell's metrics.
  mutating func takeClosedAttempts() -> [AttemptOutcome] {
    guard !board.closedAttempts.isEmpty else { return [] }
    defer { board.closedAttempts.removeAll(keepingCapacity: true) }
    return board.closedAttempts
  }

  /// Follows up what `actions` say happened to tasks: a finished task's mailbox is dropped
  /// and its subscriptions end. Every transition that can finish a task passes its actions
  /// through here.
  private mutating func settled(_ actions: [ClusterAction], now: UTCInstant) -> [ClusterAction] {
    var result = actions
    for case .finished(let task) in actions {
      result += mailboxes.taskFinished(task, now: now)
    }
    return result
  }

  // MARK: Nodes

  /// Registers a node or updates the one under its ID.
  /// - Parameters:
  ///   - registration: What the node says about itself, already validated.
  ///   - credential: Decides, given the node already under the ID, whether the caller may
  ///     register it and which credential digest the node keeps (`nil`: the one it has).
  ///   - newID: Makes a fresh ID for a registration that has none.
  mutating func register(
    _ registration: NodeRegistration,
    now: UTCInstant,
    credential: (Node?) throws(OrchionError) -> [UInt8]?,
    newID: () -> NodeID
  ) throws(OrchionError) -> (node: Node, created: Bool, actions: [ClusterAction]) {
    let digest = try credential(registration.id.flatMap { nodes.node($0) })
    let result = nodes.register(registration, now: now, credentialDigest: digest, newID: newID)
    return (result.node, result.created, apply([result.transition], now: now))
  }

  /// Records a heartbeat; `changed` when it brought an inactive node back.
  mutating func heartbeat(
    _ id: NodeID,
    now: UTCInstant
  ) throws(OrchionError) -> (node: Node, changed: Bool, actions: [ClusterAction]) {
    let result = try nodes.heartbeat(id, now: now)
    guard let transition = result.transition else { return (result.node, false, []) }
    return (result.node, true, apply([transition], now: now))
  }

  /// The node's agent said goodbye: it is disconnected and stays listed.
  mutating func leave(_ id: NodeID, now: UTCInstant) throws(OrchionError) -> (
    node: Node, actions: [ClusterAction]
  ) {
    let result = try nodes.leave(id, now: now)
    return (result.node, apply(result.transition.map { [$0] } ?? [], now: now))
  }

  /// Removes a node (`UnregisterNode`): its work is requeued.
  mutating func remove(_ id: NodeID, now: UTCInstant) throws(OrchionError) -> (
    node: Node, actions: [ClusterAction]
  ) {
    let result = try nodes.remove(id, now: now)
    return (result.node, apply([result.transition], now: now))
  }

  /// Cordons, uncordons (ending any drain) or drains a node until `drainDeadline`.
  mutating func setScheduling(
    _ id: NodeID,
    cordoned: Bool,
    drainDeadline: UTCInstant?,
    now: UTCInstant
  ) throws(OrchionError) -> (node: Node, actions: [ClusterAction]) {
    let transition = try nodes.setScheduling(id, cordoned: cordoned, drainDeadline: drainDeadline)
    return (transition.node, apply([transition], now: now))
  }

  /// Applies the node status changes due now (silence: INACTIVE, DISCONNECTED, forgotten).
  mutating func expire(now: UTCInstant) -> (
    transitions: [NodeTransition], actions: [ClusterAction]
  ) {
    let transitions = nodes.expire(now: now)
    return (transitions, apply(transitions, now: now))
  }

  /// What node changes mean for the store, the tasks and the streams.
  private mutating func apply(_ transitions: [NodeTransition], now: UTCInstant) -> [ClusterAction] {
    guard !transitions.isEmpty else { return [] }
    var actions: [ClusterAction] = []
    for transition in transitions {
      let id = transition.node.id
      let removed = transition.reason == .forgotten || transition.reason == .unregistered
      nodeChanges.append(removed ? .nodeDeleted(id) : .nodeSaved(transition.node))
      // Kept in step on every change, so a drain survives its node re-registering. A cordon
      // or drain of a node that is already gone is not a second loss.
      guard transition.node.status == .disconnected, transition.reason != .scheduling else {
        board.setDrain(id, deadline: transition.node.drainDeadline)
        continue
      }
      actions += board.nodeLost(id, now: now)
      if let session = sessions.removeValue(forKey: id) { actions.append(.endSession(session)) }
    }
    // A forced drain is due now.
    actions += board.tick(now: now).actions
    return settled(actions, now: now)
  }

  // MARK: Agent streams

  /// A node's agent opened a stream and runs `running`: it becomes the node's session (ending
  /// an older one), and what it runs is reconciled with the board.
  mutating func attach(
    node: NodeID,
    running: [(task: TaskID, attempt: AttemptID)],
    now: UTCInstant
  ) -> (session: SessionID, actions: [ClusterAction]) {
    lastSession += 1
    let session = SessionID(rawValue: lastSession)
    var actions: [ClusterAction] = []
    if let previous = sessions.updateValue(session, forKey: node) {
      actions.append(.endSession(previous))
    }
    actions += board.reconcile(node: node, running: running, now: now)
    return (session, settled(actions, now: now))
  }

  /// A stream ended; it stops speaking for its node unless a newer one replaced it.
  /// - Returns: Whether it was the node's current session.
  @discardableResult
  mutating func detach(_ session: SessionID, node: NodeID) -> Bool {
    guard sessions[node] == session else { return false }
    sessions[node] = nil
    return true
  }

  /// Every stream ends (shutdown).
  mutating func detachAll() -> [ClusterAction] {
    defer { sessions.removeAll() }
    return sessions.values.sorted().map { .endSession($0) }
  }

  // MARK: Tasks

  /// Accepts a task; with an idempotency key already used for the same request, returns that
  /// submission's task instead.
  mutating func submit(
    _ spec: TaskSpec,
    parent: TaskID? = nil,
    idempotency: IdempotencyKey? = nil,
    now: UTCInstant
  ) throws(OrchionError) -> TaskRecord {
    if let idempotency, let earlier = try board.earlierSubmission(idempotency), let task = earlier.first {
      return task
    }
    let id = board.newID(now: now)
    let (prepared, message) = try prepare(spec, id: id)
    return board.submit(prepared, id: id, parent: parent, idempotency: idempotency, now: now, message: message)
  }

  /// Accepts a group: every member, or — when any spec is refused — none. With an idempotency
  /// key already used for the same request, returns that submission's members instead.
  /// - Parameter members: Each member's spec and item, in index order (at least one).
  mutating func submitGroup(
    _ members: [(spec: TaskSpec, item: String?)],
    spread: Bool = false,
    parent: TaskID? = nil,
    idempotency: IdempotencyKey? = nil,
    now: UTCInstant
  ) throws(OrchionError) -> [TaskRecord] {
    if let idempotency, let earlier = try board.earlierSubmission(idempotency), !earlier.isEmpty {
      return earlier
    }
    let ids = members.map { _ in board.newID(now: now) }
    guard let first = ids.first else { throw .invalidArgument(field: "count", "count: at least one member") }
    let group = GroupID(firstMember: first)
    // Every member prepared and checked before the first is queued: all or none.
    var prepared: [(TaskSpec, String)] = []
    prepared.reserveCapacity(members.count)
    for (id, member) in zip(ids, members) {
      var spec = member.spec
      spec.environment["ORCHION_GROUP_ID"] = group.rawValue
      prepared.append(try prepare(spec, id: id))
    }
    var tasks: [TaskRecord] = []
    tasks.reserveCapacity(members.count)
    for (index, (id, (spec, message))) in zip(ids, prepared).enumerated() {
      let membership = GroupMembership(
        group: group, index: Int32(index), item: members[index].item, spread: spread
      )
      tasks.append(
        board.submit(
          spec, id: id, parent: parent, membership: membership, idempotency: idempotency, now: now,
          message: message
        )
      )
    }
    return tasks
  }

  /// A spec as it is queued: an agent task's command built and checked, and why it cannot be
  /// placed yet, if so.
  private func prepare(_ spec: TaskSpec, id: TaskID) throws(OrchionError) -> (TaskSpec, String) {
    guard spec.agent != nil else { return (spec, "") }
    let (session, node) = try resumePoint(of: spec)
    let prepared = AgentPlacement.prepare(spec, task: id, resumeSession: session, resumeNode: node)
    try prepared.validate()
    let message = AgentPlacement.unplaceable(prepared, nodeLabels: nodes.nodes().lazy.map(\.labels))
    return (prepared, message ?? "")
  }

  /// The session and node an agent task continues: those of the task it resumes.
  /// - Throws: `notFound` for an unknown task; `failedPrecondition` when it is not an agent
  ///   task of the same CLI, or left no session to continue.
  private func resumePoint(of spec: TaskSpec) throws(OrchionError) -> (String?, NodeID?) {
    guard let agent = spec.agent, let resumed = agent.resume else { return (nil, nil) }
    let earlier = try board.task(resumed)
    guard let earlierAgent = earlier.spec.agent, earlierAgent.name == agent.name else {
      throw .failedPrecondition(
        "spec.agent.resume: task '\(resumed)' is not a \(agent.name) agent task"
      )
    }
    guard AgentFlavor(name: agent.name)?.canResume == true else {
      throw .failedPrecondition("spec.agent.resume: \(agent.name) has no sessions to resume")
    }
    // The session the earlier run reported (a chain of resumes keeps its first session);
    // for a CLI whose sessions Orchion names, the name it gave that run.
    let reported = earlier.agentResult.map(\.sessionID).flatMap { $0.isEmpty ? nil : $0 }
    let session = reported ?? AgentFlavor(name: agent.name)?.sessionName(for: resumed)
    guard let session, let node = earlier.nodeID, earlier.agentResult != nil || reported != nil
    else {
      throw .failedPrecondition(
        "spec.agent.resume: task '\(resumed)' has no session to continue yet (its run reports one when it ends)"
      )
    }
    return (session, node)
  }

  mutating func cancel(_ id: TaskID, now: UTCInstant) throws(OrchionError) -> (
    TaskRecord, [ClusterAction]
  ) {
    let (task, actions) = try board.cancel(id, now: now)
    return (task, settled(actions, now: now))
  }

  mutating func report(_ reports: [AttemptReport], from node: NodeID, now: UTCInstant)
    -> [ClusterAction]
  {
    settled(reports.flatMap { board.report($0, from: node, now: now) }, now: now)
  }

  /// An assignment could not reach its node: the task goes back in the queue.
  mutating func undeliverable(_ task: TaskID, attempt: AttemptID) {
    board.undeliverable(task, attempt: attempt)
  }

  /// Puts back what a store held before a restart: nodes silent (see
  /// ``NodeTable/restore(_:now:)``), tasks as ``TaskBoard/restore(_:)`` says, drains resumed.
  mutating func restore(tasks: [TaskRecord], nodes restored: [Node], now: UTCInstant) {
    for node in restored { nodes.restore(node, now: now) }
    board.restore(tasks)
    for node in restored where node.status != .disconnected {
      board.setDrain(node.id, deadline: node.drainDeadline)
    }
  }

  // MARK: Time and placement

  /// Retry delays that ended and drain deadlines that passed; drains left with no task
  /// complete (their nodes stay cordoned). The router's ack timeouts and TTLs that passed;
  /// subscriptions whose attempt is over end.
  /// - Returns: The stops to send, and whether there is something new to place.
  mutating func tick(now: UTCInstant) -> (actions: [ClusterAction], wake: Bool) {
    var (actions, wake) = board.tick(now: now)
    actions = settled(actions, now: now)
    actions += mailboxes.tick(now: now)
    for subscription in mailboxes.attemptSubscriptions
    where !isCurrent(subscription.task, attempt: subscription.attempt) {
      actions += mailboxes.end(
        subscription.id,
        error: .failedPrecondition("the attempt that subscribed has ended"),
        now: now
      )
    }
    for id in board.takeCompletedDrains() {
      guard let node = nodes.node(id), node.drainDeadline != nil,
        let transition = try? nodes.setScheduling(id, cordoned: node.cordoned, drainDeadline: nil)
      else { continue }
      actions += apply([transition], now: now)
      wake = true
    }
    return (actions, wake)
  }

  /// Places what can be placed now on active nodes whose agent has a stream.
  mutating func schedule(
    scheduler: some Scheduler,
    now: UTCInstant,
    generator: inout some RandomNumberGenerator
  ) -> [ClusterAction] {
    guard board.pendingCount > 0 else { return [] }
    let candidates = nodes.nodes(status: .active).compactMap { node -> ClusterSnapshot.Node? in
      guard sessions[node.id] != nil else { return nil }
      return ClusterSnapshot.Node(
        id: node.id,
        status: node.status,
        cordoned: node.cordoned,
        labels: node.labels,
        capacity: node.resources,
        slots: node.slots
      )
    }
    let actions = board.schedule(
      nodes: candidates,
      scheduler: scheduler,
      now: now,
      generator: &generator
    )
    return settled(actions, now: now)
  }
}
