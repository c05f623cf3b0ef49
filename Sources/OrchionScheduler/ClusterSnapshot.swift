public import OrchionCore

/// An immutable view of the nodes that may take work, as the scheduler sees it.
public struct ClusterSnapshot: Sendable {
  /// One node that may take work.
  public struct Node: Hashable, Sendable {
    /// The node's ID.
    public var id: NodeID
    /// The node's labels, matched against task selectors.
    public var labels: [String: String]
    /// What the node offers.
    public var capacity: Resources
    /// What tasks placed on it reserve.
    public var allocated: Resources
    /// Concurrent task limit; 0 for none.
    public var slots: Int32
    /// Tasks placed on it.
    public var tasks: Int

    /// Creates a node view.
    public init(
      id: NodeID,
      labels: [String: String],
      capacity: Resources,
      allocated: Resources = .zero,
      slots: Int32 = 0,
      tasks: Int = 0
    ) {
      self.id = id
      self.labels = labels
      self.capacity = capacity
      self.allocated = allocated
      self.slots = slots
      self.tasks = tasks
    }

    /// What is still free.
    public var free: Resources { capacity - allocated }

    /// Whether another task may run here as far as slots go.
    public var hasFreeSlot: Bool { slots == 0 || tasks < Int(slots) }

    /// How full the node is, 0 (idle) to 1 (full): the fullest of CPU, memory and slots.
    public var load: Double {
      func fraction(_ used: Int64, _ total: Int64) -> Double {
        total > 0 ? Double(used) / Double(total) : 0
      }
      return max(
        fraction(allocated.cpuMillis, capacity.cpuMillis),
        fraction(allocated.memoryBytes, capacity.memoryBytes),
        slots > 0 ? Double(tasks) / Double(slots) : 0
      )
    }
  }

  /// The nodes, in no particular order.
  public var nodes: [Node]

  /// Creates a snapshot.
  public init(nodes: [Node]) {
    self.nodes = nodes
  }
}

/// A task waiting for a place, as the scheduler sees it.
public struct PendingTask: Hashable, Sendable {
  /// The task's ID.
  public var id: TaskID
  /// What it needs.
  public var resources: Resources
  /// Labels a node must carry.
  public var nodeSelector: [String: String]

  /// Creates a pending task view.
  public init(id: TaskID, resources: Resources, nodeSelector: [String: String]) {
    self.id = id
    self.resources = resources
    self.nodeSelector = nodeSelector
  }
}

/// The scheduler's decision: run this task on this node.
public struct Placement: Hashable, Sendable {
  /// The task.
  public var task: TaskID
  /// The node.
  public var node: NodeID

  /// Creates a placement.
  public init(task: TaskID, node: NodeID) {
    self.task = task
    self.node = node
  }
}
