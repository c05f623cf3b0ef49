public import OrchionAPI
public import OrchionCore
import SwiftProtobuf

/// What an agent event may hold: checked by the node before it sends one (an event the
/// orchestrator would refuse is dropped there, not resent forever) and by the orchestrator
/// where it arrives.
public enum AgentEventRules {
  /// Most bytes of text, tool input or tool output one event carries.
  public static let maxFieldBytes = 16 * 1024
  /// Most bytes of a tool call's ID or name.
  public static let maxNameBytes = 256

  /// Checks `event`.
  /// - Throws: `invalidArgument` naming the field (under `field`) and the rule.
  public static func validate(_ event: Orchion_V1_AgentEvent, field: String) throws(OrchionError) {
    guard let kind = event.kind, !event.hasFinalTask else {
      throw .invalidArgument(
        field: field,
        "\(field): an AgentEvent of a known kind, without final_task"
      )
    }
    if event.hasTime { _ = try UTCInstant(validating: event.time, field: "\(field).time") }
    func bounded(_ text: String, _ limit: Int, _ name: String) throws(OrchionError) {
      guard text.utf8.count <= limit else {
        throw .invalidArgument(
          field: "\(field).\(name)",
          "\(field).\(name): \(text.utf8.count) bytes, at most \(limit)"
        )
      }
    }
    switch kind {
    case .sessionStarted(let session):
      _ = try AgentResult(status: .succeeded, sessionID: session.sessionID, model: session.model)
        .validate(field: "\(field).session_started")
    case .text(let text):
      try bounded(text.text, maxFieldBytes, "text")
    case .toolCall(let call):
      try bounded(call.id, maxNameBytes, "tool_call.id")
      try bounded(call.name, maxNameBytes, "tool_call.name")
      try bounded(call.inputJson, maxFieldBytes, "tool_call.input_json")
    case .toolResult(let result):
      try bounded(result.id, maxNameBytes, "tool_result.id")
      try bounded(result.output, maxFieldBytes, "tool_result.output")
    case .usage(let usage):
      guard usage.inputTokens >= 0, usage.outputTokens >= 0, usage.cachedInputTokens >= 0 else {
        throw .invalidArgument(field: "\(field).usage", "\(field).usage: counts must not be negative")
      }
    case .result(let result):
      _ = try AgentResult(validating: result, field: "\(field).result")
    }
  }

  /// `kind` with `transform(text, limit)` applied to every string it carries.
  public static func mapText(
    of kind: Orchion_V1_AgentEvent.OneOf_Kind,
    _ transform: (String, Int) -> String
  ) -> Orchion_V1_AgentEvent.OneOf_Kind {
    switch kind {
    case .sessionStarted(var session):
      session.sessionID = transform(session.sessionID, AgentResult.maxSessionIDBytes)
      session.model = transform(session.model, AgentRun.maxModelBytes)
      return .sessionStarted(session)
    case .text(var text):
      text.text = transform(text.text, maxFieldBytes)
      return .text(text)
    case .toolCall(var call):
      call.id = transform(call.id, maxNameBytes)
      call.name = transform(call.name, maxNameBytes)
      call.inputJson = transform(call.inputJson, maxFieldBytes)
      return .toolCall(call)
    case .toolResult(var result):
      result.id = transform(result.id, maxNameBytes)
      result.output = transform(result.output, maxFieldBytes)
      return .toolResult(result)
    case .result(var result):
      result.sessionID = transform(result.sessionID, AgentResult.maxSessionIDBytes)
      result.model = transform(result.model, AgentRun.maxModelBytes)
      result.text = transform(result.text, AgentResult.maxTextBytes)
      result.error = transform(result.error, AgentResult.maxTextBytes)
      return .result(result)
    case .usage:
      return kind
    }
  }

  /// `event` with only the fields this version knows (what a node sent beyond them is not
  /// stored), and no time when it had none.
  public static func known(_ event: Orchion_V1_AgentEvent) -> Orchion_V1_AgentEvent {
    .with { known in
      if event.hasTime { known.time = .with { $0.seconds = event.time.seconds; $0.nanos = event.time.nanos } }
      guard let kind = event.kind else { return }
      switch kind {
      case .sessionStarted(let session):
        known.sessionStarted = .with {
          $0.sessionID = session.sessionID
          $0.model = session.model
        }
      case .text(let text):
        known.text = .with {
          $0.text = text.text
          $0.thinking = text.thinking
        }
      case .toolCall(let call):
        known.toolCall = .with {
          $0.id = call.id
          $0.name = call.name
          $0.inputJson = call.inputJson
        }
      case .toolResult(let result):
        known.toolResult = .with {
          $0.id = result.id
          $0.output = result.output
          $0.isError = result.isError
        }
      case .usage(let usage):
        known.usage = .with {
          $0.inputTokens = usage.inputTokens
          $0.outputTokens = usage.outputTokens
          $0.cachedInputTokens = usage.cachedInputTokens
        }
      case .result(let result):
        // Its fields were checked; the duration's, likewise, rebuilt.
        var copy = Orchion_V1_AgentResult()
        copy.status = result.status
        copy.sessionID = result.sessionID
        copy.model = result.model
        copy.text = result.text
        copy.turns = result.turns
        if result.hasDuration {
          copy.duration = .with {
            $0.seconds = result.duration.seconds
            $0.nanos = result.duration.nanos
          }
        }
        copy.inputTokens = result.inputTokens
        copy.outputTokens = result.outputTokens
        copy.cachedInputTokens = result.cachedInputTokens
        if result.hasCostUsd { copy.costUsd = result.costUsd }
        copy.events = result.events
        copy.unparsedLines = result.unparsedLines
        copy.error = result.error
        known.result = copy
      }
    }
  }
}
