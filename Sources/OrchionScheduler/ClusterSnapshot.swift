public import OrchionCore

/// An immutable view of the cluster as the scheduler sees it.
public struct ClusterSnapshot: Sendable {
  /// One node.
  public struct Node: Hashable, Sendable {
    /// The node's ID.
    public var id: NodeID
    /// Liveness: only ACTIVE nodes take work.
    public var status: NodeStatus
    /// Cordoned or draining nodes take no new work.
    public var cordoned: Bool
    /// The node's labels, matched against task selectors and constraints.
    public var labels: [String: String]
    /// What the node offers.
    public var capacity: Resources
    /// What tasks placed on it reserve (including tasks being stopped).
    public var allocated: Resources
    /// Concurrent task limit; 0 for none.
    public var slots: Int32
    /// Tasks placed on it (including tasks being stopped).
    public var tasks: Int
    /// What tasks being stopped here (preempted or drained) will free once they are gone.
    public var releasing: Resources
    /// How many tasks are being stopped here.
    public var releasingTasks: Int
    /// Preemptible tasks running here, which a higher-priority task may evict.
    public var preemptible: [RunningTask]
    /// The ``PendingTask/distinctGroup``s of the tasks placed here: no other member of those
    /// may come.
    public var distinctGroups: Set<String> = []

    /// Creates a node view.
    public init(
      id: NodeID,
      status: NodeStatus = .active,
      cordoned: Bool = false,
      labels: [String: String] = [:],
      capacity: Resources,
      allocated: Resources = .zero,
      slots: Int32 = 0,
      tasks: Int = 0,
      releasing: Resources = .zero,
      releasingTasks: Int = 0,
      preemptible: [RunningTask] = []
    ) {
      self.id = id
      self.status = status
      self.cordoned = cordoned
      self.labels = labels
      self.capacity = capacity
      self.allocated = allocated
      self.slots = slots
      self.tasks = tasks
      self.releasing = releasing
      self.releasingTasks = releasingTasks
      self.preemptible = preemptible
    }

    /// What is still free.
    public var free: Resources { capacity - allocated }

    /// Whether new work may go here at all.
    public var isSchedulable: Bool { status == .active && !cordoned }

    /// Whether another task may run here as far as slots go.
    public var hasFreeSlot: Bool { slots == 0 || tasks < Int(slots) }

    /// How full the node is, 0 (idle) to 1 (full): the fullest of CPU, memory, GPUs and slots.
    public var load: Double {
      func fraction(_ used: Int64, _ total: Int64) -> Double {
        total > 0 ? Double(used) / Double(total) : 0
      }
      return max(
        fraction(allocated.cpuMillis, capacity.cpuMillis),
        fraction(allocated.memoryBytes, capacity.memoryBytes),
        fraction(Int64(allocated.gpus), Int64(capacity.gpus)),
        slots > 0 ? Double(tasks) / Double(slots) : 0
      )
    }
  }

  /// The nodes, in any order.
  public var nodes: [Node]
  /// The node the last round-robin placement went to, so turns continue across passes.
  public var roundRobinAfter: NodeID?
  /// Tasks queued at or before this instant may reserve a node (as if marked
  /// ``PendingTask/reserve``); `nil`: only marked ones.
  public var reserveQueuedBefore: UTCInstant?

  /// Creates a snapshot.
  public init(nodes: [Node], roundRobinAfter: NodeID? = nil) {
    self.nodes = nodes
    self.roundRobinAfter = roundRobinAfter
  }
}

/// A task placed on a node that a higher-priority task may evict.
public struct RunningTask: Hashable, Sendable {
  public var id: TaskID
  public var priority: Int32
  public var resources: Resources

  /// Creates a running task view.
  public init(id: TaskID, priority: Int32, resources: Resources) {
    self.id = id
    self.priority = priority
    self.resources = resources
  }
}
