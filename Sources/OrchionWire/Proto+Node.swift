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
      throw .invalidArgument("status: unknown node status \(value)")
    }
  }
}
