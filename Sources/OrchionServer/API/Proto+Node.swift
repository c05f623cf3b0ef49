import OrchionAPI
import OrchionCore

extension Orchion_V1_Resources {
  init(_ resources: Resources) {
    self.init()
    cpuMillis = resources.cpuMillis
    memoryBytes = resources.memoryBytes
    gpus = resources.gpus
    extended = resources.extended
  }
}

extension Resources {
  init(_ proto: Orchion_V1_Resources) {
    self.init(
      cpuMillis: proto.cpuMillis,
      memoryBytes: proto.memoryBytes,
      gpus: proto.gpus,
      extended: proto.extended
    )
  }
}

extension Orchion_V1_NodeStatus {
  init(_ status: NodeStatus) {
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
  static func filter(_ proto: Orchion_V1_NodeStatus) throws(OrchionError) -> NodeStatus? {
    switch proto {
    case .unspecified: nil
    case .active: .active
    case .inactive: .inactive
    case .disconnected: .disconnected
    case .UNRECOGNIZED(let value):
      throw .invalidArgument("status: unknown node status \(value)")
    }
  }
}

extension Orchion_V1_Node {
  init(_ node: Node, usage: NodeUsage = .none) {
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
  }
}

extension NodeRegistration {
  /// The registration a request describes.
  /// - Throws: `invalidArgument` naming the field that breaks a rule.
  init(validating request: Orchion_V1_RegisterNodeRequest) throws(OrchionError) {
    let id = request.nodeID.isEmpty ? nil : try NodeID(validating: request.nodeID)
    self.init(
      id: id,
      address: request.address,
      metadata: request.metadata,
      labels: request.labels,
      resources: Resources(request.resources),
      slots: request.slots
    )
    try validate()
  }
}
