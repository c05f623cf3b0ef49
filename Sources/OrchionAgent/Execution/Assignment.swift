import OrchionAPI
import OrchionCore
import OrchionWire

/// One attempt the orchestrator hands this agent, decoded and checked where it arrives: past
/// the stream, the executor sees only domain values.
struct Assignment: Sendable {
  var task: TaskID
  var attempt: AttemptID
  /// Which attempt of the task this is (1 for the first).
  var number: Int32
  var spec: TaskSpec
  /// Where the task reaches the orchestrator (its `ORCHION_SERVER`).
  var serverAddress: String
  /// Values of the secrets the spec names, by environment variable: never logged or kept.
  var secretValues: [String: String]
  /// The attempt's router token (its `ORCHION_TOKEN`); empty without authentication.
  var taskToken: String

  /// Decodes an assignment.
  /// - Throws: `invalidArgument` naming the field that is not what the contract says.
  init(validating message: Orchion_V1_TaskAssignment) throws(OrchionError) {
    task = try TaskID(validating: message.taskID, field: "assign.task_id")
    attempt = try AttemptID(validating: message.attemptID, field: "assign.attempt_id")
    number = message.attempt
    spec = try TaskSpec(validating: message.spec)
    serverAddress = message.serverAddress
    secretValues = message.secretValues
    taskToken = message.taskToken
  }
}

/// The orchestrator asks for an attempt's process tree to end.
struct StopRequest: Sendable {
  var attempt: AttemptID
  /// What the attempt reports once its processes are gone: CANCELLED, or what the orchestrator
  /// asked for (PENDING: given back; FAILED).
  var state: TaskState
  var reason: String

  /// Decodes a stop.
  /// - Throws: `invalidArgument` for an attempt ID that is not one.
  init(validating message: Orchion_V1_StopAttempt) throws(OrchionError) {
    attempt = try AttemptID(validating: message.attemptID, field: "stop.attempt_id")
    state =
      switch message.state {
      case .failed: .failed
      case .pending: .pending
      default: .cancelled
      }
    reason = message.reason
  }
}
