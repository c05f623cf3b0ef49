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

  /// One more turn (saturating: a CLI may print turn events without end).
  mutating func countTurn() {
    if turns < .max { turns += 1 }
  }

  /// `total + amount` for token counts, saturating; a negative amount counts as none.
  static func adding(_ amount: Int64?, to total: Int64) -> Int64 {
    let (sum, overflow) = max(0, total).addingReportingOverflow(max(0, amount ?? 0))
    return overflow ? .max : sum
  }

  /// Longest duration believed: a CLI reporting more is wrong.
  static let maxDuration = Duration.seconds(365 * 86_400)

  /// Adds to the cost, saturating at the largest a result may carry.
  mutating func addCost(_ amount: Double) {
    guard amount.isFinite, amount >= 0 else { return }
    costUSD = min((costUSD ?? 0) + amount, AgentResult.maxCostUSD)
  }

  /// The result of a run that ended with `exitCode` (`nil`: killed) after `elapsed`.
  func result(exitCode: Int32?, elapsed: Duration) -> Orchion_V1_AgentResult {
    let failed = reportedFailure ?? false || exitCode != 0
    // What a CLI printed is untrusted: a session ID the orchestrator would refuse (and so
    // refuse the whole report) is left out, and numbers are kept in range.
    let session = AgentText.clip(sessionID, to: AgentResult.maxSessionIDBytes)
    let usableSession =
      TextRules.firstControlCharacter(in: session) == nil && !session.hasPrefix("-")
      && session.utf8.count <= AgentResult.maxSessionIDBytes
    let reportedDuration = min(max(duration ?? elapsed, .zero), Self.maxDuration)
    return .with {
      $0.status = failed ? .failed : .succeeded
      $0.sessionID = usableSession ? session : ""
      $0.model = String(
        String.UnicodeScalarView(
          AgentText.clip(model, to: AgentRun.maxModelBytes).unicodeScalars.filter {
            TextRules.firstControlCharacter(in: String($0)) == nil
          }
        )
      )
      $0.text = AgentText.clip(finalText, to: AgentResult.maxTextBytes)
      $0.turns = max(0, turns)
      $0.duration = .init(reportedDuration)
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
  static let maxFieldBytes = AgentEventRules.maxFieldBytes

  /// The longest start of `text` of at most `bytes` of UTF-8, cut at a character boundary
  /// (at least one character, so that a loop taking pieces ends).
  static func prefix(_ text: String, bytes: Int) -> String {
    var kept = ""
    var count = 0
    for character in text {
      count += character.utf8.count
      if count > bytes, !kept.isEmpty { break }
      kept.append(character)
    }
    return kept
  }

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
