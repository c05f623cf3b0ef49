import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// What a run has said so far, accumulated from its events into the task's ``AgentResult``.
struct AgentTranscript: Sendable {
  var sessionID = ""
  var model = ""
  /// The final answer where the CLI gives one, else the last assistant text.
  var finalText = ""
  var turns: Int32 = 0
  var duration: Duration?
  var inputTokens: Int64 = 0
  var outputTokens: Int64 = 0
  var cachedInputTokens: Int64 = 0
  var costUSD: Double?
  /// The CLI's own verdict, where it gives one.
  var reportedFailure: Bool?
  var error = ""
  /// Whether the CLI's own result event was sent (else one is made at the end).
  var resultSent = false
  var events: Int64 = 0
  var unparsedLines: Int64 = 0

  /// Adds to the cost, saturating at the largest a result may carry.
  mutating func addCost(_ amount: Double) {
    guard amount.isFinite, amount >= 0 else { return }
    costUSD = min((costUSD ?? 0) + amount, AgentResult.maxCostUSD)
  }

  /// The result of a run that ended with `exitCode` (`nil`: killed) after `elapsed`.
  func result(exitCode: Int32?, elapsed: Duration) -> Orchion_V1_AgentResult {
    let failed = reportedFailure ?? false || exitCode != 0
    return .with {
      $0.status = failed ? .failed : .succeeded
      $0.sessionID = AgentText.clip(sessionID, to: AgentResult.maxSessionIDBytes)
      $0.model = AgentText.clip(model, to: AgentRun.maxModelBytes)
      $0.text = AgentText.clip(finalText, to: AgentResult.maxTextBytes)
      $0.turns = turns
      $0.duration = .init(duration ?? elapsed)
      $0.inputTokens = max(0, inputTokens)
      $0.outputTokens = max(0, outputTokens)
      $0.cachedInputTokens = max(0, cachedInputTokens)
      if let costUSD { $0.costUsd = costUSD }
      $0.events = events
      $0.unparsedLines = unparsedLines
      var error = self.error
      if failed, error.isEmpty {
        error =
          if reportedFailure == true {
            "the agent reported a failure"
          } else {
            exitCode.map { "exited with code \($0)" } ?? "did not exit (killed)"
          }
      }
      $0.error = failed ? AgentText.clip(error, to: AgentResult.maxTextBytes) : ""
    }
  }
}

/// Bounds on what an event carries.
enum AgentText {
  /// Most bytes of text, tool input or tool output one event carries.
  static let maxFieldBytes = 16 * 1024

  /// `text` cut to at most `bytes` of UTF-8 at a character boundary, saying how much was cut.
  static func clip(_ text: String, to bytes: Int = maxFieldBytes) -> String {
    guard text.utf8.count > bytes else { return text }
    let marker = " […]"
    var kept = ""
    var count = 0
    for character in text {
      count += character.utf8.count
      if count > bytes - marker.utf8.count { break }
      kept.append(character)
    }
    return kept + marker
  }
}
