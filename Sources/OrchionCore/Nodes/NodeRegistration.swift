/// What a node says about itself when it registers.
public struct NodeRegistration: Hashable, Sendable {
  /// The ID the node asks for; `nil` lets the server assign one.
  public var id: NodeID?
  /// Where the node says it can be reached (informational).
  public var address: String
  /// Free-form facts about the node.
  public var metadata: [String: String]
  /// Labels tasks select nodes by.
  public var labels: [String: String]
  /// Capacity the node offers.
  public var resources: Resources
  /// Concurrent task limit; 0 means as many as resources allow.
  public var slots: Int32
  /// The coding-agent CLIs found on the node.
  public var agents: [AgentCLI]
  /// The agent's release, if it said.
  public var agentVersion: String = ""

  /// The longest accepted address, in bytes.
  public static let maxAddressBytes = 255

  /// Creates a registration.
  /// - Parameters:
  ///   - id: The ID the node asks for; `nil` lets the server assign one.
  ///   - address: Where the node says it can be reached.
  ///   - metadata: Free-form facts about the node.
  ///   - labels: Labels tasks select nodes by.
  ///   - resources: Capacity the node offers.
  ///   - slots: Concurrent task limit; 0 means as many as resources allow.
  ///   - agents: The coding-agent CLIs found on the node.
  public init(
    id: NodeID? = nil,
    address: String = "",
    metadata: [String: String] = [:],
    labels: [String: String] = [:],
    resources: Resources = .zero,
    slots: Int32 = 0,
    agents: [AgentCLI] = []
  ) {
    self.id = id
    self.address = address
    self.metadata = metadata
    self.labels = labels
    self.resources = resources
    self.slots = slots
    self.agents = agents
  }

  /// The node's labels: those it sent, with the `agent.orchion.io/` ones derived from
  /// ``agents`` (what it sent under that prefix is replaced).
  public var effectiveLabels: [String: String] { AgentCLI.labels(labels, with: agents) }

  /// Checks every field against its documented limits.
  /// - Throws: ``OrchionError`` `invalidArgument` naming the field and the rule.
  public func validate() throws(OrchionError) {
    guard address.utf8.count <= Self.maxAddressBytes else {
      throw .invalidArgument(
        field: "address",
        "address: \(address.utf8.count) bytes, at most \(Self.maxAddressBytes) allowed"
      )
    }
    if TextRules.firstControlCharacter(in: address) != nil {
      throw .invalidArgument(field: "address", "address: must not contain control characters")
    }
    try StringMapLimits.metadata.validate(metadata)
    try StringMapLimits.labels.validate(labels)
    try resources.validate(field: "resources")
    guard slots >= 0 else { throw .invalidArgument(field: "slots", "slots: must not be negative") }
    try AgentCLI.validate(agents)
    guard agentVersion.utf8.count <= OrchionVersion.maxVersionBytes,
      TextRules.firstControlCharacter(in: agentVersion) == nil
    else {
      throw .invalidArgument(
        field: "agent_version",
        "agent_version: at most \(OrchionVersion.maxVersionBytes) bytes, no control characters"
      )
    }
  }
}
