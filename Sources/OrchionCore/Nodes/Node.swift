/// A registered node as the registry knows it.
public struct Node: Hashable, Sendable {
  /// The node's identifier.
  public var id: NodeID
  /// Where the node says it can be reached (informational: the orchestrator never dials it).
  public var address: String
  /// Free-form facts about the node.
  public var metadata: [String: String]
  /// Labels tasks select nodes by.
  public var labels: [String: String]
  /// Current liveness.
  public var status: NodeStatus
  /// When the node first registered under this ID.
  public var registeredAt: UTCInstant
  /// When the node was last heard from.
  public var lastHeartbeat: UTCInstant
  /// When ``status`` last changed.
  public var statusChangedAt: UTCInstant
  /// Capacity the node offers.
  public var resources: Resources
  /// Concurrent task limit; 0 means as many as resources allow.
  public var slots: Int32
  /// No new tasks go here (cordoned by an operator, or draining).
  public var cordoned: Bool = false
  /// While a drain is in progress: when the node's remaining tasks are stopped and requeued.
  public var drainDeadline: UTCInstant?
  /// The coding-agent CLIs the node's agent found; each is also an `agent.orchion.io/` label.
  public var agents: [AgentCLI] = []
  /// The release of the agent that registered it.
  public var agentVersion: String = ""
  /// SHA-256 of the credential issued at registration, which every later call for this node
  /// must present (empty: none issued, e.g. a node registered without authentication). The
  /// credential itself is never kept.
  public var credentialDigest: [UInt8] = []

  /// Creates a node.
  public init(
    id: NodeID,
    address: String,
    metadata: [String: String],
    labels: [String: String],
    status: NodeStatus,
    registeredAt: UTCInstant,
    lastHeartbeat: UTCInstant,
    statusChangedAt: UTCInstant,
    resources: Resources,
    slots: Int32
  ) {
    self.id = id
    self.address = address
    self.metadata = metadata
    self.labels = labels
    self.status = status
    self.registeredAt = registeredAt
    self.lastHeartbeat = lastHeartbeat
    self.statusChangedAt = statusChangedAt
    self.resources = resources
    self.slots = slots
  }
}

/// A change of a node's status, as the registry reports it to whoever watches.
public struct NodeTransition: Hashable, Sendable {
  /// The node after the change.
  public var node: Node
  /// The status before the change; `nil` when the node was new.
  public var from: NodeStatus?
  /// Why it changed.
  public var reason: Reason

  /// Why a node's status changed.
  public enum Reason: Hashable, Sendable {
    /// The node registered (new or again).
    case registered
    /// A heartbeat arrived from an inactive node.
    case heartbeat
    /// The heartbeat timeout expired.
    case heartbeatTimeout
    /// The lost-after period expired.
    case lost
    /// The node's agent said goodbye: DISCONNECTED at once, still listed.
    case left
    /// The node was unregistered: removed from the registry.
    case unregistered
    /// The node was disconnected so long it was removed from the registry.
    case forgotten
    /// An operator cordoned, uncordoned or drained the node (its status did not change).
    case scheduling
  }

  /// Creates a transition.
  public init(node: Node, from: NodeStatus?, reason: Reason) {
    self.node = node
    self.from = from
    self.reason = reason
  }
}
