import Foundation
import OrchionAPI
import OrchionCore
import SwiftProtobuf

/// What one chunk of a task's log shows as: the same on the page as it is rendered and in the
/// live stream (SSE `data:` is this as JSON), so a page that streams on from where it was
/// rendered shows what a reload would.
struct OutputEvent: Sendable, Equatable {
  enum Kind: String, Sendable {
    /// Bytes the task wrote (stdout, stderr) or Orchion's notices in its output.
    case output
    /// One step of an agent task (text, a tool call or result, usage, the result).
    case agent
  }

  var kind: Kind
  /// `stdout`, `stderr`, `system`; for agent events `text`, `tool_call`, `tool_result`,
  /// `usage`, `result`, `session`.
  var stream: String
  var text: String
  var attempt: Int32

  init(kind: Kind, stream: String, text: String, attempt: Int32) {
    self.kind = kind
    self.stream = stream
    self.text = text
    self.attempt = attempt
  }

  /// The event a chunk shows as; `nil` for an agent event that does not decode.
  init?(_ chunk: Orchion_V1_LogChunk) {
    attempt = chunk.attempt
    switch chunk.stream {
    case .stdout:
      (kind, stream, text) = (.output, "stdout", String(decoding: chunk.data, as: UTF8.self))
    case .stderr:
      (kind, stream, text) = (.output, "stderr", String(decoding: chunk.data, as: UTF8.self))
    case .agentEvent:
      guard let event = try? Orchion_V1_AgentEvent(serializedBytes: chunk.data),
        let (stream, text) = Self.describe(event)
      else { return nil }
      (kind, self.stream, self.text) = (.agent, stream, text)
    default:
      (kind, stream, text) = (.output, "system", String(decoding: chunk.data, as: UTF8.self))
    }
  }

  /// One line for an agent event, as `orchion run --agent` prints it.
  static func describe(_ event: Orchion_V1_AgentEvent) -> (String, String)? {
    switch event.kind {
    case .sessionStarted(let started):
      return (
        "session",
        "session \(started.sessionID)\(started.model.isEmpty ? "" : " · \(started.model)")"
      )
    case .text(let text): return ("text", (text.thinking ? "(thinking) " : "") + text.text)
    case .toolCall(let call): return ("tool_call", "→ \(call.name) \(call.inputJson)")
    case .toolResult(let result):
      return ("tool_result", (result.isError ? "✗ " : "← ") + result.output)
    case .usage(let usage):
      return (
        "usage",
        "tokens in \(usage.inputTokens) · out \(usage.outputTokens) · cached \(usage.cachedInputTokens)"
      )
    case .result(let result):
      let cost = result.hasCostUsd ? String(format: " · $%.4f", result.costUsd) : ""
      return (
        "result",
        "\(result.status == .succeeded ? "succeeded" : "failed") · \(result.turns) turns\(cost)"
      )
    case nil: return nil
    }
  }

  /// The event as the JSON of an SSE `data:` line (one line: newlines are escaped).
  var json: String {
    "{\"kind\":\"\(kind.rawValue)\",\"stream\":\"\(stream)\",\"attempt\":\(attempt),\"text\":\(JSONText.quoted(text))}"
  }
}
