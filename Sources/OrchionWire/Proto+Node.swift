public import OrchionAPI
public import OrchionCore

extension Orchion_V1_Resources {
  public init(_ resources: Resources) {
    self.init()
    cpuMillis = resources.cpuMillis
    memoryBytes = resources.memoryBytes
    gpus = resources.gpus
    extended = resources.extended
  }
}

extension Resources {
  public init(_ proto: Orchion_V1_Resources) {
    self.init(
      cpuMillis: proto.cpuMillis,
      memoryBytes: proto.memoryBytes,
      gpus: proto.gpus,
      extended: proto.extended
    )
  }
}

extension Orchion_V1_NodeStatus {
  public init(_ status: NodeStatus) {
    switch status {
    case .active: self = .active
    case .inactive: self = .inactive
    case .disconnected: self = .disconnected
    }
  }
}

extension NodeStatus {
  /// The status a filter asks for: `nil` for "all".
  /// - Throws: `invalidArgument` for a value this server does not know.
  public static func filter(_ proto: Orchion_V1_NodeStatus) throws(OrchionError) -> NodeStatus? {
    switch proto {
    case .unspecified: nil
    case .active: .active
    case .inactive: .inactive
    case .disconnected: .disconnected
    case .UNRECOGNIZED(let value):
      throw .invalidArgument(field: "status", "status: unknown node status \(value)")
    }
  }
}

extension Orchion_V1_Node {
  public init(_ node: Node, usage: NodeUsage = .none) {
    self.init()
    id = node.id.rawValue
    address = node.address
    metadata = node.metadata
    labels = node.labels
    status = .init(node.status)
    registeredAt = .init(node.registeredAt)
    lastHeartbeat = .init(node.lastHeartbeat)
    statusChangedAt = .init(node.statusChangedAt)
    resources = .init(node.resources)
    slots = node.slots
    allocated = .init(usage.allocated)
    runningTasks = Int32(clamping: usage.tasks)
    cordoned = node.cordoned
    if let drainDeadline = node.drainDeadline { self.drainDeadline = .init(drainDeadline) }
    agents = node.agents.map(Orchion_V1_AgentCLI.init)
    agentVersion = node.agentVersion
  }
}

extension Orchion_V1_AgentCLI {
  public init(_ agent: AgentCLI) {
    self.init()
    name = agent.name
    version = agent.version
    path = agent.path
  }
}

extension AgentCLI {
  /// The entry a message carries, unchecked (see ``AgentCLI/validate(_:)``).
  public init(_ proto: Orchion_V1_AgentCLI) {
    self.init(name: proto.name, version: proto.version, path: proto.path)
  }
}
