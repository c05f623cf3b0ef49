public import OrchionAPI
public import OrchionCore
import OrchionWire

extension Node {
  /// The node a stored record describes.
  /// - Throws: `dataLoss` when the record cannot be a node this server wrote.
  public init(stored: Orchion_V1_StoredNode) throws(OrchionError) {
    let proto = stored.node
    do throws(OrchionError) {
      let status: NodeStatus
      switch proto.status {
      case .active: status = .active
      case .inactive: status = .inactive
      case .disconnected: status = .disconnected
      default: throw OrchionError.invalidArgument(field: "status", "status: \(proto.status)")
      }
      self.init(
        id: try NodeID(validating: proto.id),
        address: proto.address,
        metadata: proto.metadata,
        labels: proto.labels,
        status: status,
        registeredAt: UTCInstant(proto.registeredAt),
        lastHeartbeat: UTCInstant(proto.lastHeartbeat),
        statusChangedAt: UTCInstant(proto.statusChangedAt),
        resources: Resources(proto.resources),
        slots: proto.slots
      )
      cordoned = proto.cordoned
      drainDeadline = proto.hasDrainDeadline ? UTCInstant(proto.drainDeadline) : nil
      credentialDigest = Array(stored.credentialSha256)
      agents = proto.agents.map(AgentCLI.init)
      agentVersion = String(proto.agentVersion.prefix(OrchionVersion.maxVersionBytes))
      try AgentCLI.validate(agents)
    } catch {
      throw .dataLoss("stored node '\(proto.id)' is unreadable: \(error.message)")
    }
  }
}
