public import OrchionCore
import Synchronization

/// The orchestrator's concurrency-safe registry of nodes.
///
/// Wraps the ``NodeTable`` state machine in a lock and reads time from an injected clock.
/// Observers hear about every status change, after the lock is released.
///
/// ```swift
/// let registry = NodeRegistry(configuration: .defaults, clock: SystemClock())
/// let (node, created) = try registry.register(NodeRegistration(address: "10.0.0.2"))
/// ```
public final class NodeRegistry: Sendable {
  /// Called with status changes, in order, outside the registry's lock.
  public typealias Observer = @Sendable ([NodeTransition]) -> Void

  /// The clock the registry stamps and expires by.
  public let clock: any WallClock
  /// The timing rules.
  public let configuration: NodeTable.Configuration
  private let table: Mutex<NodeTable>
  private let observers = Mutex<[Observer]>([])

  /// Creates an empty registry.
  /// - Parameters:
  ///   - configuration: Heartbeat timeout, lost-after and forget-after.
  ///   - clock: The clock to stamp and expire by.
  public init(configuration: NodeTable.Configuration, clock: any WallClock) {
    self.clock = clock
    self.configuration = configuration
    self.table = Mutex(NodeTable(configuration: configuration))
  }

  /// Adds an observer of status changes.
  /// - Parameter observer: Called with each batch of changes.
  public func observe(_ observer: @escaping Observer) {
    observers.withLock { $0.append(observer) }
  }

  /// Registers a node or updates the one registered under its ID.
  /// - Parameters:
  ///   - registration: What the node says about itself.
  ///   - credential: Decides, given the node already registered under the ID (if any), whether
  ///     the caller may register it and which credential digest the node keeps (`nil`: the one
  ///     it has). It runs under the registry's lock, so no other registration of the same ID
  ///     slips in between the check and the write.
  /// - Returns: The node and whether it was new.
  /// - Throws: `invalidArgument` when the registration breaks a documented limit; what
  ///   `credential` throws.
  public func register(
    _ registration: NodeRegistration,
    credential: (Node?) throws(OrchionError) -> [UInt8]? = { _ in nil }
  ) throws(OrchionError) -> (node: Node, created: Bool) {
    try registration.validate()
    let now = clock.now
    let result = try table.withLock { table throws(OrchionError) in
      var generator = SystemRandomNumberGenerator()
      let digest = try credential(registration.id.flatMap { table.node($0) })
      return table.register(registration, now: now, credentialDigest: digest) {
        NodeID.random(using: &generator)
      }
    }
    notify([result.transition])
    return (result.node, result.created)
  }

  /// Puts back nodes known before a restart (see ``NodeTable/restore(_:now:)``), without
  /// telling the observers: nothing changed.
  public func restore(_ nodes: [Node]) {
    let now = clock.now
    table.withLock { table in
      for node in nodes { table.restore(node, now: now) }
    }
  }

  /// Records a heartbeat from a node.
  /// - Parameter id: The node.
  /// - Returns: The node after the heartbeat.
  /// - Throws: `notFound` for an unknown node; `failedPrecondition` for a disconnected one.
  public func heartbeat(_ id: NodeID) throws(OrchionError) -> Node {
    let now = clock.now
    let result = try table.withLock { table throws(OrchionError) in
      try table.heartbeat(id, now: now)
    }
    if let transition = result.transition { notify([transition]) }
    return result.node
  }

  /// Marks a node disconnected because its agent said goodbye; it stays listed.
  /// - Parameter id: The node.
  /// - Returns: The node, now disconnected.
  /// - Throws: `notFound` for an unknown node.
  public func leave(_ id: NodeID) throws(OrchionError) -> Node {
    let now = clock.now
    let result = try table.withLock { table throws(OrchionError) in
      try table.leave(id, now: now)
    }
    if let transition = result.transition { notify([transition]) }
    return result.node
  }

  /// Removes a node (`UnregisterNode`): gone from the registry, its work requeued.
  /// - Parameter id: The node.
  /// - Returns: The node as it was removed.
  /// - Throws: `notFound` for an unknown node.
  public func remove(_ id: NodeID) throws(OrchionError) -> Node {
    let now = clock.now
    let result = try table.withLock { table throws(OrchionError) in
      try table.remove(id, now: now)
    }
    notify([result.transition])
    return result.node
  }

  /// Cordons a node (`cordoned`), uncordons it (ending any drain), or drains it until
  /// `drainDeadline`.
  /// - Returns: The node after the change.
  /// - Throws: `notFound` for an unknown node.
  public func setScheduling(
    _ id: NodeID,
    cordoned: Bool,
    drainDeadline: UTCInstant? = nil
  ) throws(OrchionError) -> Node {
    let transition = try table.withLock { table throws(OrchionError) in
      try table.setScheduling(id, cordoned: cordoned, drainDeadline: drainDeadline)
    }
    notify([transition])
    return transition.node
  }

  /// Marks a node's drain complete: it has no task left. It stays cordoned. Nothing happens when
  /// the node is unknown or no longer draining (uncordoned meanwhile).
  public func finishDrain(_ id: NodeID) {
    let transition = table.withLock { table -> NodeTransition? in
      guard let node = table.node(id), node.drainDeadline != nil else { return nil }
      return try? table.setScheduling(id, cordoned: node.cordoned, drainDeadline: nil)
    }
    if let transition { notify([transition]) }
  }

  /// The node with `id`.
  /// - Throws: `notFound` for an unknown node.
  public func node(_ id: NodeID) throws(OrchionError) -> Node {
    guard let node = table.withLock({ $0.node(id) }) else {
      throw .notFound("node '\(id)' is not registered")
    }
    return node
  }

  /// Nodes with the given status (all when `nil`), ordered by ID.
  public func nodes(status: NodeStatus? = nil) -> [Node] {
    table.withLock { $0.nodes(status: status) }
  }

  /// The number of known nodes, disconnected ones included.
  public var count: Int { table.withLock { $0.count } }

  /// Applies the status changes that are due now and tells the observers.
  /// - Returns: The changes.
  @discardableResult
  public func expireOverdue() -> [NodeTransition] {
    let now = clock.now
    let transitions = table.withLock { $0.expire(now: now) }
    if !transitions.isEmpty { notify(transitions) }
    return transitions
  }

  private func notify(_ transitions: [NodeTransition]) {
    for observer in observers.withLock({ $0 }) { observer(transitions) }
  }
}
