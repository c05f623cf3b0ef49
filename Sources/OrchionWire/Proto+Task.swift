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
    case .UNRECOGNIZED(let value):
      throw .invalidArgument(field: field, "\(field): unknown task state \(value)")
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
    strategy = spec.strategy?.rawValue ?? ""
    constraints = spec.constraints.map(\.description)
    preemptible = spec.preemptible
    retryExitCodes = spec.retry.exitCodes.sorted()
    retryBackoff = .init(spec.retry.backoff)
    retryBackoffMax = .init(spec.retry.maxBackoff)
    surviveDisconnect = spec.surviveDisconnect
    secretEnv = spec.secretEnvironment
    if let agent = spec.agent { self.agent = .init(agent) }
    nodeID = spec.node?.rawValue ?? ""
  }
}

extension TaskSpec {
  /// The spec a request describes, with defaults applied (priority 50, one attempt).
  /// - Throws: `invalidArgument` naming the field that breaks a rule.
  public init(validating proto: Orchion_V1_TaskSpec) throws(OrchionError) {
    let timeout =
      proto.hasTimeout
      ? try Duration(validating: proto.timeout, field: "spec.timeout") : nil
    let strategy =
      proto.strategy.isEmpty
      ? nil : try PlacementStrategy(validating: proto.strategy, field: "spec.strategy")
    guard proto.constraints.count <= LabelConstraint.maxPerTask else {
      throw .invalidArgument(
        field: "spec.constraints",
        "spec.constraints: at most \(LabelConstraint.maxPerTask) expressions"
      )
    }
    var constraints: [LabelConstraint] = []
    for (index, expression) in proto.constraints.enumerated() {
      constraints.append(
        try LabelConstraint(parsing: expression, field: "spec.constraints[\(index)]")
      )
    }
    var retry = RetryPolicy(exitCodes: Set(proto.retryExitCodes))
    if proto.hasRetryBackoff {
      let backoff = try Duration(validating: proto.retryBackoff, field: "spec.retry_backoff")
      if backoff != .zero { retry.backoff = backoff }
    }
    if proto.hasRetryBackoffMax {
      let maxBackoff = try Duration(
        validating: proto.retryBackoffMax,
        field: "spec.retry_backoff_max"
      )
      if maxBackoff != .zero { retry.maxBackoff = maxBackoff }
    }
    // A short backoff without a cap of its own must not end up above its own cap.
    if !proto.hasRetryBackoffMax || proto.retryBackoffMax == .init() {
      retry.maxBackoff = max(retry.maxBackoff, retry.backoff)
    }
    self.init(
      name: proto.name,
      command: proto.command,
      environment: proto.env,
      workingDirectory: proto.workdir,
      resources: Resources(proto.resources),
      nodeSelector: proto.nodeSelector,
      timeout: timeout == .zero ? nil : timeout,
      maxAttempts: proto.maxAttempts == 0 ? 1 : proto.maxAttempts,
      priority: proto.hasPriority ? proto.priority : TaskSpec.defaultPriority,
      strategy: strategy,
      constraints: constraints,
      preemptible: proto.preemptible,
      retry: retry,
      surviveDisconnect: proto.surviveDisconnect
    )
    secretEnvironment = proto.secretEnv
    if proto.hasAgent { agent = try AgentRun(validating: proto.agent) }
    if !proto.nodeID.isEmpty {
      do {
        node = try NodeID(validating: proto.nodeID)
      } catch {
        throw .invalidArgument(field: "spec.node_id", "spec." + error.message)
      }
    }
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
    if let termination = task.termination { self.termination = .init(termination) }
    attempts = task.attempts.map(Orchion_V1_Attempt.init)
    if let notBefore = task.notBefore, task.state == .pending { self.notBefore = .init(notBefore) }
    if let agentResult = task.agentResult { self.agentResult = .init(agentResult) }
    parentTaskID = task.parent?.rawValue ?? ""
    if let membership = task.membership {
      groupID = membership.group.rawValue
      groupIndex = membership.index
    }
  }
}

extension Orchion_V1_Attempt {
  public init(_ attempt: AttemptRecord) {
    self.init()
    number = attempt.number
    attemptID = attempt.id.rawValue
    nodeID = attempt.node.rawValue
    assignedAt = .init(attempt.assignedAt)
    if let startedAt = attempt.startedAt { self.startedAt = .init(startedAt) }
    if let finishedAt = attempt.finishedAt { self.finishedAt = .init(finishedAt) }
    outcome = .init(attempt.outcome)
    if let exitCode = attempt.exitCode { self.exitCode = exitCode }
    reason = attempt.reason
    if let termination = attempt.termination { self.termination = .init(termination) }
  }
}

extension Orchion_V1_TerminationReason {
  public init(_ reason: TerminationReason) {
    switch reason {
    case .exited: self = .exited
    case .signalled: self = .signalled
    case .timedOut: self = .timedOut
    case .cancelled: self = .cancelled
    case .lost: self = .lost
    case .preempted: self = .preempted
    case .drained: self = .drained
    case .couldNotStart: self = .couldNotStart
    case .spawnerDied: self = .spawnerDied
    }
  }
}

extension TerminationReason {
  /// The reason a wire value names; `nil` for UNSPECIFIED.
  /// - Throws: `invalidArgument` naming `field` for a value this version does not know.
  public static func from(_ proto: Orchion_V1_TerminationReason, field: String) throws(OrchionError)
    -> TerminationReason?
  {
    switch proto {
    case .unspecified: nil
    case .exited: .exited
    case .signalled: .signalled
    case .timedOut: .timedOut
    case .cancelled: .cancelled
    case .lost: .lost
    case .preempted: .preempted
    case .drained: .drained
    case .couldNotStart: .couldNotStart
    case .spawnerDied: .spawnerDied
    case .UNRECOGNIZED(let value):
      throw .invalidArgument(field: field, "\(field): unknown termination reason \(value)")
    }
  }
}

extension Orchion_V1_AttemptOutcome {
  public init(_ outcome: AttemptOutcome) {
    switch outcome {
    case .active: self = .active
    case .succeeded: self = .succeeded
    case .failed: self = .failed
    case .lost: self = .lost
    case .preempted: self = .preempted
    case .drained: self = .drained
    case .cancelled: self = .cancelled
    }
  }
}

extension UTCInstant {
  public init(_ timestamp: Google_Protobuf_Timestamp) {
    self.init(
      nanosecondsSinceEpoch: timestamp.seconds &* 1_000_000_000 &+ Int64(timestamp.nanos)
    )
  }
}
