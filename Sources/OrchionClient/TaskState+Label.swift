public import OrchionAPI

extension Orchion_V1_TaskState {
  /// The state as Orchion prints it (the CLI's tables, the MCP tools): `RUNNING`, `FAILED`…
  public var label: String {
    switch self {
    case .pending: "PENDING"
    case .assigned: "ASSIGNED"
    case .running: "RUNNING"
    case .succeeded: "SUCCEEDED"
    case .failed: "FAILED"
    case .cancelled: "CANCELLED"
    case .unspecified, .UNRECOGNIZED: "UNKNOWN"
    }
  }

  /// Whether the task has ended: it will not change again.
  public var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
}
