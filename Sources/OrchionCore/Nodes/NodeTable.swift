/// The node registry's state: every known node and when each is next due for a status change.
///
/// A value type with no clock and no locks: callers pass `now`, and the methods return what
/// changed. The orchestrator's cluster state holds it beside the task board; tests drive it
/// directly.
///
/// Each node has exactly one live entry in a deadline heap. A heartbeat only moves the node's
/// `lastHeartbeat` (O(1)); when an entry falls due, the node's true deadline is recomputed and
/// the entry re-armed if the node was heard from meanwhile. So the cost of a tick is the number
/// of entries due, not the number of nodes.
public struct NodeTable: Sendable {
  /// Timing rules of the node lifecycle.
  public struct Configuration: Hashable, Sendable {
    /// Silence after which an active node becomes inactive.
    public var heartbeatTimeout: Duration
    /// Further silence after which an inactive node becomes disconnected.
    public var lostAfter: Duration
    /// How long a disconnected node stays listed before it is forgotten.
    public var forgetAfter: Duration

    /// 30 s heartbeat timeout, 1 min lost-after, disconnected nodes forgotten after 24 h.
    public static var defaults: Configuration {
      Configuration(
        heartbeatTimeout: .seconds(30),
        lostAfter: .seconds(60),
        forgetAfter: .seconds(86_400)
      )
    }

    /// The defaults, changed by `update`.
    public static func defaults(_ update: (inout Configuration) -> Void) -> Configuration {
      var configuration = defaults
      update(&configuration)
      return configuration
    }

    /// Creates a configuration.
    public init(heartbeatTimeout: Duration, lostAfter: Duration, forgetAfter: Duration) {
      self.heartbeatTimeout = heartbeatTimeout
      self.lostAfter = lostAfter
      self.forgetAfter = forgetAfter
    }

    /// How often a node should heartbeat: a third of the timeout, so two heartbeats may be lost
    /// before the node is declared inactive.
    public var heartbeatInterval: Duration { heartbeatTimeout / 3 }
  }

  private struct Entry: Sendable {
    var node: Node
    /// The deadline of this node's live heap entry; other heap entries for it are stale.
    var scheduled: UTCInstant
  }

  /// The timing rules.
  public let configuration: Configuration
  private var entries: [NodeID: Entry] = [:]
  private var deadlines = DeadlineHeap<NodeID>()

  /// Creates an empty table.
  /// - Parameter configuration: The timing rules.
  public init(configuration: Configuration) {
    self.configuration = configuration
  }

  /// The number of known nodes, disconnected ones included.
  public var count: Int { entries.count }

  /// The node with `id`, if known.
  public func node(_ id: NodeID) -> Node? { entries[id]?.node }

  /// Known nodes with the given status (all when `nil`), ordered by ID.
  public func nodes(status: NodeStatus? = nil) -> [Node] {
    entries.values.lazy.map(\.node).filter { status == nil || $0.status == status }
      .sorted { $0.id < $1.id }
  }

  /// The earliest moment at which ``expire(now:)`` may have something to do.
  public var nextDeadline: UTCInstant? { deadlines.first?.deadline }

  /// Registers a node, or updates the node already registered under its ID.
  ///
  /// Re-registering keeps exactly one node per ID: the address, metadata, labels, resources and
  /// slots are replaced, the node becomes active, and `registeredAt` keeps the first
  /// registration's time.
  /// - Parameters:
  ///   - registration: What the node says about itself (already validated).
  ///   - now: The current time.
  ///   - newID: Makes a fresh ID when the registration has none; called until the ID is unused.
  /// - Returns: The node, whether it was new, and the status change.
  public mutating func register(
    _ registration: NodeRegistration,
    now: UTCInstant,
    credentialDigest: [UInt8]? = nil,
    newID: () -> NodeID
  ) -> (node: Node, created: Bool, transition: NodeTransition) {
    var id = registration.id ?? newID()
    while registration.id == nil, entries[id] != nil { id = newID() }

    if var entry = entries[id] {
      let previous = entry.node.status
      entry.node.address = registration.address
      entry.node.metadata = registration.metadata
      entry.node.labels = registration.effectiveLabels
      entry.node.agents = registration.agents
      entry.node.agentVersion = registration.agentVersion
      entry.node.resources = registration.resources
      entry.node.slots = registration.slots
      if let credentialDigest { entry.node.credentialDigest = credentialDigest }
      entry.node.lastHeartbeat = now
      if previous != .active {
        entry.node.status = .active
        entry.node.statusChangedAt = now
      }
      entries[id] = entry
      armIfEarlier(id)
      return (
        entry.node, false, NodeTransition(node: entry.node, from: previous, reason: .registered)
      )
    }

    var node = Node(
      id: id,
      address: registration.address,
      metadata: registration.metadata,
      labels: registration.effectiveLabels,
      status: .active,
      registeredAt: now,
      lastHeartbeat: now,
      statusChangedAt: now,
      resources: registration.resources,
      slots: registration.slots
    )
    node.credentialDigest = credentialDigest ?? []
    node.agents = registration.agents
    node.agentVersion = registration.agentVersion
    let deadline = trueDeadline(of: node)
    entries[id] = Entry(node: node, scheduled: deadline)
    deadlines.push(id, at: deadline)
    return (node, true, NodeTransition(node: node, from: nil, reason: .registered))
  }

  /// Puts back a node known before a restart of the orchestrator.
  ///
  /// Nobody has heard from it since the restart, so a node that was active or inactive counts
  /// as inactive, last heard from at `now` (the earliest this orchestrator could have heard
  /// it): unless its agent reconnects, it is lost (and its tasks requeued) the full
  /// heartbeat-timeout + lost-after from `now`. Less would break fencing: the agent's lease
  /// counts that long from the last heartbeat the old leader acknowledged, and a frozen
  /// agent's copy of a task could still be running when the task starts elsewhere. A
  /// disconnected node stays disconnected.
  public mutating func restore(_ node: Node, now: UTCInstant) {
    var node = node
    if node.status != .disconnected {
      node.lastHeartbeat = max(node.lastHeartbeat, now)
      if node.status == .active { node.statusChangedAt = now }
      node.status = .inactive
    }
    let deadline = trueDeadline(of: node)
    entries[node.id] = Entry(node: node, scheduled: deadline)
    deadlines.push(node.id, at: deadline)
  }

  /// Sets whether a node takes new work and, for a drain, when its remaining tasks are stopped.
  /// - Returns: The node after the change, as a ``NodeTransition`` with reason `scheduling`.
  /// - Throws: `notFound` for an unknown node.
  public mutating func setScheduling(
    _ id: NodeID,
    cordoned: Bool,
    drainDeadline: UTCInstant?
  ) throws(OrchionError) -> NodeTransition {
    guard var entry = entries[id] else { throw .notFound("node '\(id)' is not registered") }
    entry.node.cordoned = cordoned
    entry.node.drainDeadline = drainDeadline
    entries[id] = entry
    return NodeTransition(node: entry.node, from: entry.node.status, reason: .scheduling)
  }

  /// Records a heartbeat.
  /// - Parameters:
  ///   - id: The node.
  ///   - now: The current time.
  /// - Returns: The node after the heartbeat and, when it was inactive, its return to active.
  /// - Throws: `notFound` for an unknown node, `failedPrecondition` for a disconnected one
  ///   (it must register again so its stale work can be reconciled).
  public mutating func heartbeat(
    _ id: NodeID,
    now: UTCInstant
  ) throws(OrchionError) -> (node: Node, transition: NodeTransition?) {
    guard var entry = entries[id] else {
      throw .notFound("node '\(id)' is not registered")
    }
    switch entry.node.status {
    case .disconnected:
      throw .failedPrecondition("node '\(id)' is disconnected: register it again")
    case .active:
      entry.node.lastHeartbeat = max(entry.node.lastHeartbeat, now)
      entries[id] = entry
      return (entry.node, nil)
    case .inactive:
      entry.node.lastHeartbeat = max(entry.node.lastHeartbeat, now)
      entry.node.status = .active
      entry.node.statusChangedAt = now
      entries[id] = entry
      armIfEarlier(id)
      return (entry.node, NodeTransition(node: entry.node, from: .inactive, reason: .heartbeat))
    }
  }

  /// Marks a node disconnected at once because its agent said goodbye; it stays listed until
  /// forgotten, as Nomad keeps a down client.
  /// - Parameters:
  ///   - id: The node.
  ///   - now: The current time.
  /// - Returns: The node and its status change (`nil` if it was disconnected already).
  /// - Throws: `notFound` for an unknown node.
  public mutating func leave(
    _ id: NodeID,
    now: UTCInstant
  ) throws(OrchionError) -> (node: Node, transition: NodeTransition?) {
    guard var entry = entries[id] else {
      throw .notFound("node '\(id)' is not registered")
    }
    let previous = entry.node.status
    guard previous != .disconnected else { return (entry.node, nil) }
    entry.node.status = .disconnected
    entry.node.statusChangedAt = now
    entry.scheduled = trueDeadline(of: entry.node)
    entries[id] = entry
    deadlines.push(id, at: entry.scheduled)
    return (entry.node, NodeTransition(node: entry.node, from: previous, reason: .left))
  }

  /// Removes a node from the table (`UnregisterNode`): it is no longer listed, and its running
  /// work is lost (the transition's node is DISCONNECTED).
  /// - Parameters:
  ///   - id: The node.
  ///   - now: The current time.
  /// - Returns: The node as it was removed, and the transition that says so.
  /// - Throws: `notFound` for an unknown node.
  public mutating func remove(
    _ id: NodeID,
    now: UTCInstant
  ) throws(OrchionError) -> (node: Node, transition: NodeTransition) {
    guard var node = entries.removeValue(forKey: id)?.node else {
      throw .notFound("node '\(id)' is not registered")
    }
    // Its deadline entry goes lazily: `expire` skips keys no longer in `entries`.
    let previous = node.status
    node.status = .disconnected
    node.statusChangedAt = now
    return (node, NodeTransition(node: node, from: previous, reason: .unregistered))
  }

  /// Applies every status change that is due at `now`.
  /// - Parameter now: The current time.
  /// - Returns: The changes, in deadline order.
  public mutating func expire(now: UTCInstant) -> [NodeTransition] {
    var transitions: [NodeTransition] = []
    while let due = deadlines.first, due.deadline <= now {
      _ = deadlines.popFirst()
      guard var entry = entries[due.key], entry.scheduled == due.deadline else { continue }
      let deadline = trueDeadline(of: entry.node)
      if deadline > now {
        // Heard from since this entry was armed: re-arm at the real deadline.
        entry.scheduled = deadline
        entries[due.key] = entry
        deadlines.push(due.key, at: deadline)
        continue
      }
      let previous = entry.node.status
      switch previous {
      case .active:
        entry.node.status = .inactive
      case .inactive:
        entry.node.status = .disconnected
      case .disconnected:
        entries[due.key] = nil
        transitions.append(NodeTransition(node: entry.node, from: previous, reason: .forgotten))
        continue
      }
      entry.node.statusChangedAt = now
      entry.scheduled = trueDeadline(of: entry.node)
      entries[due.key] = entry
      deadlines.push(due.key, at: entry.scheduled)
      transitions.append(
        NodeTransition(
          node: entry.node,
          from: previous,
          reason: previous == .active ? .heartbeatTimeout : .lost
        )
      )
    }
    return transitions
  }

  /// When the node's next status change is due, given what is known now.
  private func trueDeadline(of node: Node) -> UTCInstant {
    switch node.status {
    case .active:
      node.lastHeartbeat.advanced(by: configuration.heartbeatTimeout)
    case .inactive:
      node.lastHeartbeat.advanced(by: configuration.heartbeatTimeout + configuration.lostAfter)
    case .disconnected:
      node.statusChangedAt.advanced(by: configuration.forgetAfter)
    }
  }

  /// Adds a heap entry when the node's deadline moved earlier than its live entry; later
  /// deadlines are picked up lazily when the live entry falls due.
  private mutating func armIfEarlier(_ id: NodeID) {
    guard var entry = entries[id] else { return }
    let deadline = trueDeadline(of: entry.node)
    guard deadline < entry.scheduled else { return }
    entry.scheduled = deadline
    entries[id] = entry
    deadlines.push(id, at: deadline)
  }
}
