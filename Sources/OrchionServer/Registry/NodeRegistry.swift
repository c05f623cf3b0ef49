public import OrchionCore
import Synchronization

/// The orchestrator's concurrency-safe registry of nodes.
///
/// Wraps the ``NodeTable`` state machine in a lock and reads time from an injected clock.
/// Observers hear about every status change outside the lock, and in the order the table made
/// them: each change is queued in the same critical section that made it, and one caller at a
/// time delivers the queue (the others return at once, their changes delivered by it).
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
  /// The table and the changes it made that observers have not heard yet. One lock for both,
  /// so a change and its place in the queue are decided together; it is held only to change
  /// or read them, never while an observer runs.
  private let state: Mutex<State>
  private let observers = Mutex<[Observer]>([])

  private struct State {
    var table: NodeTable
    /// Batches of changes not yet delivered, oldest first.
    var undelivered: [[NodeTransition]] = []
    /// A caller is delivering the queue now.
    var delivering = false
  }

  /// Creates an empty registry.
  /// - Parameters:
  ///   - configuration: Heartbeat timeout, lost-after and forget-after.
  ///   - clock: The clock to stamp and expire by.
  public init(configuration: NodeTable.Configuration, clock: any WallClock) {
    self.clock = clock
    self.configuration = configuration
    self.state = Mutex(State(table: NodeTable(configuration: configuration)))
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
    return try change { table throws(OrchionError) in
      var generator = SystemRandomNumberGenerator()
      let digest = try credential(registration.id.flatMap { table.node($0) })
      let result = table.register(registration, now: now, credentialDigest: digest) {
        NodeID.random(using: &generator)
      }
      return ((result.node, result.created), [result.transition])
    }
  }

  /// Puts back nodes known before a restart (see ``NodeTable/restore(_:now:)``), without
  /// telling the observers: nothing changed.
  public func restore(_ nodes: [Node]) {
    let now = clock.now
    state.withLock { state in
      for node in nodes { state.table.restore(node, now: now) }
    }
  }

  /// Records a heartbeat from a node.
  /// - Parameter id: The node.
  /// - Returns: The node after the heartbeat.
  /// - Throws: `notFound` for an unknown node; `failedPrecondition` for a disconnected one.
  public func heartbeat(_ id: NodeID) throws(OrchionError) -> Node {
    let now = clock.now
    return try change { table throws(OrchionError) in
      let result = try table.heartbeat(id, now: now)
      return (result.node, result.transition.map { [$0] } ?? [])
    }
  }

  /// Marks a node disconnected because its agent said goodbye; it stays listed.
  /// - Parameter id: The node.
  /// - Returns: The node, now disconnected.
  /// - Throws: `notFound` for an unknown node.
  public func leave(_ id: NodeID) throws(OrchionError) -> Node {
    let now = clock.now
    return try change { table throws(OrchionError) in
      let result = try table.leave(id, now: now)
      return (result.node, result.transition.map { [$0] } ?? [])
    }
  }

  /// Removes a node (`UnregisterNode`): gone from the registry, its work requeued.
  /// - Parameter id: The node.
  /// - Returns: The node as it was removed.
  /// - Throws: `notFound` for an unknown node.
  public func remove(_ id: NodeID) throws(OrchionError) -> Node {
    let now = clock.now
    return try change { table throws(OrchionError) in
      let result = try table.remove(id, now: now)
      return (result.node, [result.transition])
    }
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
    try change { table throws(OrchionError) in
      let transition = try table.setScheduling(id, cordoned: cordoned, drainDeadline: drainDeadline)
      return (transition.node, [transition])
    }
  }

  /// Marks a node's drain complete: it has no task left. It stays cordoned. Nothing happens when
  /// the node is unknown or no longer draining (uncordoned meanwhile).
  public func finishDrain(_ id: NodeID) {
    change { table in
      guard let node = table.node(id), node.drainDeadline != nil,
        let transition = try? table.setScheduling(id, cordoned: node.cordoned, drainDeadline: nil)
      else { return ((), []) }
      return ((), [transition])
    }
  }

  /// The node with `id`.
  /// - Throws: `notFound` for an unknown node.
  public func node(_ id: NodeID) throws(OrchionError) -> Node {
    guard let node = state.withLock({ $0.table.node(id) }) else {
      throw .notFound("node '\(id)' is not registered")
    }
    return node
  }

  /// Nodes with the given status (all when `nil`), ordered by ID.
  public func nodes(status: NodeStatus? = nil) -> [Node] {
    state.withLock { $0.table.nodes(status: status) }
  }

  /// The number of known nodes, disconnected ones included.
  public var count: Int { state.withLock { $0.table.count } }

  /// Applies the status changes that are due now and tells the observers.
  /// - Returns: The changes.
  @discardableResult
  public func expireOverdue() -> [NodeTransition] {
    let now = clock.now
    return change { table in
      let transitions = table.expire(now: now)
      return (transitions, transitions)
    }
  }

  /// Applies `body` to the table and queues the changes it made, in one critical section;
  /// then delivers what is queued.
  private func change<Result: Sendable, Failure: Error>(
    _ body: (inout NodeTable) throws(Failure) -> (Result, [NodeTransition])
  ) throws(Failure) -> Result {
    let result = try state.withLock { state throws(Failure) -> Result in
      let (result, transitions) = try body(&state.table)
      if !transitions.isEmpty { state.undelivered.append(transitions) }
      return result
    }
    deliver()
    return result
  }

  /// Delivers queued changes, oldest first, unless another caller is already doing so (it
  /// will deliver these too before it stops). Without this, two callers that changed the
  /// table one after the other could notify in the opposite order — a heartbeat expiry's
  /// DISCONNECTED reaching the dispatcher after the re-registration's ACTIVE.
  private func deliver() {
    let starts = state.withLock { state in
      guard !state.delivering, !state.undelivered.isEmpty else { return false }
      state.delivering = true
      return true
    }
    guard starts else { return }
    while let batch = state.withLock({ state -> [NodeTransition]? in
      guard !state.undelivered.isEmpty else {
        state.delivering = false
        return nil
      }
      return state.undelivered.removeFirst()
    }) {
      for observer in observers.withLock({ $0 }) { observer(batch) }
    }
  }
}
