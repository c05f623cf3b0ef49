import OrchionAPI
import OrchionCore
import OrchionWire

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
      slots: request.slots,
      agents: request.agents.map(AgentCLI.init)
    )
    agentVersion = request.agentVersion
    try validate()
  }
}
