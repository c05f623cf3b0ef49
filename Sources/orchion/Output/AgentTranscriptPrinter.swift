import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf
import Synchronization

/// Prints an agent task's events as they arrive: a readable transcript (what it said, one line
/// per tool call and result, a summary at the end), or the events as JSON lines.
enum AgentTranscriptPrinter {
  enum Format: Sendable {
    case transcript
    case jsonLines
  }

  /// How long following keeps trying while the orchestrator cannot be reached (it restarts,
  /// or its leader changes) before giving up.
  static let reconnectPatience = Duration.seconds(120)

  /// Streams `task`'s events until it is terminal. When the stream breaks because the
  /// orchestrator is away, it follows again from the last event shown (`after_seq`): events
  /// are durable, so nothing is missed or shown twice.
  /// - Returns: The task as it ended, when the stream ended because it is terminal.
  @discardableResult
  static func follow(_ task: String, client: OrchionNetworkClient, format: Format) async throws
    -> Orchion_V1_Task?
  {
    let cursor = Cursor()
    // Since when the orchestrator has been away, and where the stream stood then.
    var unreachable: (since: ContinuousClock.Instant, at: (Int32, Int64))?
    while true {
      do {
        let (attempt, sequence) = cursor.position
        return try await client.tasks.streamAgentEvents(
          .with {
            $0.taskID = task
            $0.follow = true
            $0.afterAttempt = attempt
            $0.afterSeq = sequence
          }
        ) { response in
          var final: Orchion_V1_Task?
          for try await event in response.messages {
            if event.hasFinalTask {
              final = event.finalTask
              continue
            }
            switch format {
            case .jsonLines: Console.line(try event.jsonString())
            case .transcript: if let line = line(for: event) { Console.line(printable(line)) }
            }
            cursor.advance(to: (event.attempt, event.sequence))
          }
          return final
        }
      } catch let error as RPCError where error.code == .unavailable {
        // Patience counts from the last time the stream got anywhere.
        let position = cursor.position
        if unreachable.map({ $0.at != position }) ?? true { unreachable = (.now, position) }
        guard let since = unreachable?.since, since.duration(to: .now) < reconnectPatience else {
          throw error
        }
        try await Task.sleep(for: .milliseconds(500))
      }
    }
  }

  /// The last event shown, where following goes on from.
  private final class Cursor: Sendable {
    private let state = Mutex<(Int32, Int64)>((0, 0))
    var position: (Int32, Int64) { state.withLock { $0 } }
    func advance(to position: (Int32, Int64)) { state.withLock { $0 = position } }
  }

  /// How `event` reads in a transcript; `nil` for events it does not show (usage).
  static func line(for event: Orchion_V1_AgentEvent) -> String? {
    switch event.kind {
    case .sessionStarted(let session):
      let model = session.model.isEmpty ? "" : " (\(session.model))"
      return "● session \(session.sessionID)\(model)"
    case .text(let text):
      return text.thinking ? "  (thinking) " + oneLine(text.text, limit: 200) : text.text
    case .toolCall(let call):
      return "→ \(call.name) \(oneLine(call.inputJson, limit: 160))"
    case .toolResult(let result):
      return "\(result.isError ? "✗" : "←") \(oneLine(result.output, limit: 160))"
    case .result(let result):
      return summary(result)
    case .usage, nil:
      return nil
    }
  }

  /// The summary line of a result: status, turns, time, tokens and cost.
  static func summary(_ result: Orchion_V1_AgentResult) -> String {
    var parts: [String] = []
    if result.turns > 0 { parts.append(result.turns == 1 ? "1 turn" : "\(result.turns) turns") }
    if result.hasDuration {
      let seconds = Double(result.duration.seconds) + Double(result.duration.nanos) / 1e9
      parts.append(String(format: "%.1fs", seconds))
    }
    parts.append(
      "tokens \(result.inputTokens) in / \(result.outputTokens) out / \(result.cachedInputTokens) cached"
    )
    if result.hasCostUsd { parts.append(String(format: "$%.4f", result.costUsd)) }
    let status = result.status == .succeeded ? "✓ succeeded" : "✗ failed"
    let error = result.status == .succeeded || result.error.isEmpty ? "" : ": \(oneLine(result.error, limit: 200))"
    return "\(status)\(error) · " + parts.joined(separator: " · ")
  }

  /// `text` without the control characters a terminal would act on (escape sequences, carriage
  /// returns): an agent's output is untrusted. Newlines and tabs stay.
  static func printable(_ text: String) -> String {
    String(
      String.UnicodeScalarView(
        text.unicodeScalars.filter {
          $0 == "\n" || $0 == "\t" || TextRules.firstControlCharacter(in: String($0)) == nil
        }
      )
    )
  }

  /// `text` on one line, cut to `limit` characters.
  static func oneLine(_ text: String, limit: Int) -> String {
    let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ⏎ ")
    return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
  }
}
