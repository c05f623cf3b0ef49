public import OrchionAPI
public import OrchionCore
public import SwiftProtobuf

extension Orchion_V1_TaskState {
  public init(_ state: TaskState) {
    switch state {
    case .pending: self = .pending
    case .assigned: self = .assigned
    case .running: self = .running
    case .succeeded: self = .succeeded
    case .failed: self = .failed
    case .cancelled: self = .cancelled
    }
  }
}

extension TaskState {
  /// The state a proto value names; `nil` for UNSPECIFIED.
  /// - Throws: `invalidArgument` for a value this server does not know.
  public static func from(_ proto: Orchion_V1_TaskState, field: String) throws(OrchionError)
    -> TaskState?
  {
    switch proto {
    case .unspecified: nil
    case .pending: .pending
    case .assigned: .assigned
    case .running: .running
    case .succeeded: .succeeded
    case .failed: .failed
    case .cancelled: .cancelled
    case .UNRECOGNIZED(let value): throw .invalidArgument("\(field): unknown task state \(value)")
    }
  }
}

extension Orchion_V1_TaskSpec {
  public init(_ spec: TaskSpec) {
    self.init()
    name = spec.name
    command = spec.command
    env = spec.environment
    workdir = spec.workingDirectory
    resources = .init(spec.resources)
    nodeSelector = spec.nodeSelector
    if let timeout = spec.timeout { self.timeout = .init(timeout) }
    maxAttempts = spec.maxAttempts
    priority = spec.priority
  }
}

extension TaskSpec {
  /// The spec a request describes, with defaults applied (priority 50, one attempt).
  /// - Throws: `invalidArgument` naming the field that breaks a rule.
  public init(validating proto: Orchion_V1_TaskSpec) throws(OrchionError) {
    let timeout =
      proto.hasTimeout
      ? try Duration(validating: proto.timeout, field: "spec.timeout") : nil
    self.init(
      name: proto.name,
      command: proto.command,
      environment: proto.env,
      workingDirectory: proto.workdir,
      resources: Resources(proto.resources),
      nodeSelector: proto.nodeSelector,
      timeout: timeout == .zero ? nil : timeout,
      maxAttempts: proto.maxAttempts == 0 ? 1 : proto.maxAttempts,
      priority: proto.hasPriority ? proto.priority : TaskSpec.defaultPriority
    )
    try validate()
  }
}

extension Orchion_V1_Task {
  public init(_ task: TaskRecord) {
    self.init()
    id = task.id.rawValue
    spec = .init(task.spec)
    state = .init(task.state)
    nodeID = task.nodeID?.rawValue ?? ""
    attempt = task.attempt
    attemptID = task.attemptID?.rawValue ?? ""
    exitCode = task.exitCode ?? 0
    createdAt = .init(task.createdAt)
    if let startedAt = task.startedAt { self.startedAt = .init(startedAt) }
    if let finishedAt = task.finishedAt { self.finishedAt = .init(finishedAt) }
    message = task.message
  }
}

extension UTCInstant {
  public init(_ timestamp: Google_Protobuf_Timestamp) {
    self.init(
      nanosecondsSinceEpoch: timestamp.seconds &* 1_000_000_000 &+ Int64(timestamp.nanos)
    )
  }
}
