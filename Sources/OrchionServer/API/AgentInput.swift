import Foundation
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// A message from an agent after its hello, validated: the only form the cluster sees.
///
/// A node is untrusted. Every field it sends is checked here, before anything changes: a
/// message breaking a rule is refused whole (`INVALID_ARGUMENT` naming the field, which ends
/// the agent's stream; the agent reconnects and nothing it sent in that message was applied).
/// Fields the orchestrator alone sets (`LogChunk.final_task`, the `SYSTEM` stream) are refused,
/// and fields unknown to this version are dropped rather than stored.
enum AgentInput: Sendable {
  /// A chunk of output, ready to store.
  struct Log: Sendable {
    var task: TaskID
    var attempt: AttemptID
    var chunk: LogChunk
  }

  /// A heartbeat, with the probe to echo in its acknowledgement.
  case heartbeat(probe: UInt64)
  /// The agent is leaving, every process it ran ended and reported.
  case goodbye
  /// Nothing to apply (an empty message, or a kind this version does not know); its outbox
  /// sequence is still acknowledged.
  case nothing
  case status([AttemptReport])
  /// Output, without empty chunks (dropped: they carry nothing).
  case logs([Log])

  /// Validates `message`.
  /// - Throws: `invalidArgument` naming the first field that breaks a rule;
  ///   `failedPrecondition` for a second hello.
  init(validating message: Orchion_V1_AgentMessage) throws(OrchionError) {
    switch message.kind {
    case .heartbeat(let heartbeat): self = .heartbeat(probe: heartbeat.probe)
    case .goodbye: self = .goodbye
    case .none: self = .nothing
    case .hello:
      throw .failedPrecondition("hello may only be the first message")
    case .status(let batch):
      guard batch.updates.count <= AgentStreamLimits.maxStatusUpdates else {
        throw .invalidArgument(
          field: "status.updates",
          "status.updates: \(batch.updates.count) updates, at most \(AgentStreamLimits.maxStatusUpdates) per message"
        )
      }
      var reports: [AttemptReport] = []
      reports.reserveCapacity(batch.updates.count)
      for (position, update) in batch.updates.enumerated() {
        reports.append(try AttemptReport(validating: update, field: "status.updates[\(position)]"))
      }
      self = .status(reports)
    case .logs(let batch):
      guard batch.entries.count <= AgentStreamLimits.maxLogEntries else {
        throw .invalidArgument(
          field: "logs.entries",
          "logs.entries: \(batch.entries.count) entries, at most \(AgentStreamLimits.maxLogEntries) per message"
        )
      }
      var logs: [Log] = []
      logs.reserveCapacity(batch.entries.count)
      for (position, entry) in batch.entries.enumerated() {
        let log = try Log(validating: entry, field: "logs.entries[\(position)]")
        if !log.chunk.data.isEmpty { logs.append(log) }
      }
      self = .logs(logs)
    }
  }
}

extension AgentInput.Log {
  /// Validates one entry of a `LogBatch`; the chunk kept holds only the fields a node may set.
  init(validating entry: Orchion_V1_AttemptLog, field: String) throws(OrchionError) {
    let attempt = try AttemptID(validating: entry.attemptID, field: "\(field).attempt_id")
    let chunk = entry.chunk
    let field = "\(field).chunk"
    let task = try TaskID(validating: chunk.taskID, field: "\(field).task_id")
    let stream: LogChunk.Stream
    switch chunk.stream {
    case .stdout: stream = .stdout
    case .stderr: stream = .stderr
    case .agentEvent: stream = .agentEvent
    default:
      throw .invalidArgument(
        field: "\(field).stream",
        "\(field).stream: a node sends STDOUT, STDERR or AGENT_EVENT only (got \(chunk.stream.rawValue))"
      )
    }
    guard !chunk.hasFinalTask else {
      throw .invalidArgument(
        field: "\(field).final_task",
        "\(field).final_task: set by the orchestrator only"
      )
    }
    // Int64.max is refused too: the next expected sequence (sequence + 1) must exist.
    guard chunk.sequence >= 0, chunk.sequence < Int64.max else {
      throw .invalidArgument(
        field: "\(field).sequence",
        "\(field).sequence: \(chunk.sequence) is outside 0-\(Int64.max - 1)"
      )
    }
    guard chunk.attempt >= 0 else {
      throw .invalidArgument(
        field: "\(field).attempt",
        "\(field).attempt: \(chunk.attempt) is negative"
      )
    }
    guard chunk.data.count <= AgentStreamLimits.maxChunkBytes else {
      throw .invalidArgument(
        field: "\(field).data",
        "\(field).data: \(chunk.data.count) bytes, at most \(AgentStreamLimits.maxChunkBytes)"
      )
    }
    let data =
      stream == .agentEvent
      ? try Self.validatedAgentEvent(chunk.data, field: "\(field).data") : chunk.data
    // Only the fields a node may set are kept (unknown fields are not).
    let kept = LogChunk(
      task: task,
      attempt: chunk.attempt,
      stream: stream,
      sequence: chunk.sequence,
      data: data,
      time: chunk.hasTime ? try UTCInstant(validating: chunk.time, field: "\(field).time") : nil
    )
    self.init(task: task, attempt: attempt, chunk: kept)
  }
}

extension AgentInput.Log {
  /// An agent event as a node may send it (``AgentEventRules``), re-encoded with only the
  /// fields this version knows; its size is the chunk's, already bounded.
  static func validatedAgentEvent(_ data: Data, field: String) throws(OrchionError) -> Data {
    let event: Orchion_V1_AgentEvent
    do {
      event = try Orchion_V1_AgentEvent(serializedBytes: data)
    } catch {
      throw .invalidArgument(field: field, "\(field): not an AgentEvent")
    }
    try AgentEventRules.validate(event, field: field)
    do {
      return try AgentEventRules.known(event).serializedBytes()
    } catch {
      throw .invalidArgument(field: field, "\(field): not an AgentEvent")
    }
  }
}

extension AttemptReport {
  /// Validates one status update from a node.
  /// - Parameter field: Where the update is in the message, for error messages.
  init(validating update: Orchion_V1_TaskStatusUpdate, field: String) throws(OrchionError) {
    let state = try TaskState.from(update.state, field: "\(field).state")
    guard let state, state != .assigned else {
      throw .invalidArgument(
        field: "\(field).state",
        "\(field).state: must be PENDING, RUNNING or terminal"
      )
    }
    // Cut by Unicode scalars, not characters: one character may hold any number of combining
    // scalars.
    let message = String(
      String.UnicodeScalarView(
        update.message.unicodeScalars.prefix(AgentStreamLimits.maxStatusMessageScalars)
      )
    )
    self.init(
      task: try TaskID(validating: update.taskID, field: "\(field).task_id"),
      attempt: try AttemptID(validating: update.attemptID, field: "\(field).attempt_id"),
      state: state,
      exitCode: state.isTerminal ? update.exitCode : nil,
      message: message,
      time: try UTCInstant(validating: update.time, field: "\(field).time"),
      termination: state.isTerminal
        ? try Self.termination(update.termination, field: "\(field).termination") : nil,
      agentResult: state.isTerminal && update.hasAgentResult
        ? try AgentResult(validating: update.agentResult, field: "\(field).agent_result") : nil
    )
  }

  /// A reason an agent may report; the orchestrator's own (cancelled, lost, preempted,
  /// drained) are refused: a node must not type an end the orchestrator did not decide.
  private static func termination(_ proto: Orchion_V1_TerminationReason, field: String)
    throws(OrchionError) -> TerminationReason?
  {
    guard let reason = try TerminationReason.from(proto, field: field) else { return nil }
    guard reason.isReportableByAgent else {
      throw .invalidArgument(
        field: field,
        "\(field): \(reason.rawValue) is the orchestrator's to decide, not a node's"
      )
    }
    return reason
  }
}
