import OrchionAPI
import OrchionCore
import OrchionWire

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
    cordoned = node.cordoned
    if let drainDeadline = node.drainDeadline { self.drainDeadline = .init(drainDeadline) }
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
