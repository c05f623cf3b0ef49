import Foundation
import OrchionAPI
import OrchionCore
import OrchionTestSupport
import OrchionWire
import SwiftProtobuf
import Testing

@testable import OrchionAgent

/// Agent CLI output to events: the recorded transcripts under `Tests/Fixtures/agent-clis`
/// (real formats, from each CLI's documentation) through the node's pipeline, cut into pieces
/// anywhere as pipes cut them.
@Suite("Agent output")
struct AgentOutputTests {
  typealias Event = Orchion_V1_AgentEvent.OneOf_Kind

  static let transcripts = BuiltProducts.repositoryRoot + "/Tests/Fixtures/agent-clis/transcripts"

  /// What the pipeline makes of a transcript, fed `pieceSize` bytes at a time.
  func run(
    _ transcript: String,
    format: AgentFlavor.OutputFormat,
    secrets: [String: String] = [:],
    session: String? = nil,
    pieceSize: Int = 7,
    exitCode: Int32 = 0
  ) throws -> (events: [Event], raw: String, result: Orchion_V1_AgentResult) {
    let text = try String(contentsOfFile: "\(Self.transcripts)/\(transcript).jsonl", encoding: .utf8)
      .replacingOccurrences(of: "{{SESSION}}", with: "s-1")
    var pipeline = AgentOutputPipeline(
      parser: AgentEventParser(format: format, model: "asked-model", session: session),
      secrets: SecretRedactor(secrets)
    )
    var outputs = pipeline.start()
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let end = min(bytes.count, offset + pieceSize)
      outputs += pipeline.consume(bytes[offset..<end])
      offset = end
    }
    outputs += pipeline.finish()
    var events: [Event] = []
    var raw: [UInt8] = []
    for output in outputs {
      switch output {
      case .event(let event): events.append(event)
      case .raw(let bytes): raw += bytes
      }
    }
    let result = pipeline.parser.transcript.result(exitCode: exitCode, elapsed: .seconds(9))
    return (events, String(decoding: raw, as: UTF8.self), result)
  }

  /// A short name per event kind, to compare sequences.
  func kinds(_ events: [Event]) -> [String] {
    events.map {
      switch $0 {
      case .sessionStarted: "session"
      case .text(let text): text.thinking ? "thinking" : "text"
      case .toolCall(let call): "call:\(call.name)"
      case .toolResult(let result): result.isError ? "error" : "result"
      case .usage: "usage"
      case .result: "final"
      }
    }
  }

  @Test("Claude Code stream-json: session, text, tool call and result, usage, final result; the malformed line is output")
  func claude() throws {
    let (events, raw, result) = try run("claude-success", format: .claudeStreamJSON)
    #expect(kinds(events) == ["session", "text", "call:Bash", "result", "text", "usage", "final"])
    guard case .sessionStarted(let session) = events[0] else { return }
    #expect(session.sessionID == "s-1" && session.model == "claude-sonnet-4-5-20250929")
    guard case .toolCall(let call) = events[2] else { return }
    #expect(call.id == "toolu_01ABC")
    #expect(call.inputJson == #"{"command":"swift test","description":"Run tests"}"#)
    #expect(raw == #"{"type":"assistant", "message": {"content": [ {"type":"text""# + "\n")
    #expect(result.status == .succeeded)
    #expect(result.turns == 3 && result.costUsd == 0.2416735)
    #expect(result.inputTokens == 18 && result.outputTokens == 2577)
    #expect(result.cachedInputTokens == 169_817)
    #expect(result.duration == .init(.milliseconds(74_096)))
    #expect(result.text == "All tests pass; I fixed the off-by-one in Range.swift.")
    #expect(result.unparsedLines == 1 && result.events == 7)
  }

  @Test("Claude Code's error result fails the run with its subtype, whatever the exit code")
  func claudeFailure() throws {
    let (events, _, result) = try run("claude-failure", format: .claudeStreamJSON)
    #expect(kinds(events) == ["session", "text", "usage", "final"])
    #expect(result.status == .failed)
    #expect(result.error == "error_max_turns")
    #expect(result.costUsd == 0.0125)
  }

  @Test("codex exec --json: the thread is the session; commands are tool calls; usage from turn.completed; no final event of its own")
  func codex() throws {
    let (events, raw, result) = try run("codex-success", format: .codexJSON)
    #expect(kinds(events) == ["session", "thinking", "call:shell", "result", "text", "usage"])
    #expect(raw == "not json: codex banner\n")
    #expect(result.sessionID == "s-1" && result.model == "asked-model")
    #expect(result.turns == 1 && result.inputTokens == 24_763 && result.cachedInputTokens == 24_448)
    #expect(result.text == "Yes: there is a README.md in the repository root.")
    #expect(!result.hasCostUsd)
    #expect(result.duration == .init(.seconds(9)))
    #expect(try run("codex-success", format: .codexJSON, exitCode: 1).result.status == .failed)
  }

  @Test("gemini stream-json: an answer streamed in pieces is one text; a failed tool is an error result")
  func gemini() throws {
    let (events, _, result) = try run("gemini-success", format: .geminiStreamJSON, pieceSize: 3)
    #expect(kinds(events) == ["session", "text", "call:read_file", "result", "error", "text", "usage", "final"])
    guard case .text(let answer) = events[1] else { return }
    #expect(answer.text == "Let me read the file.")
    #expect(result.status == .succeeded && result.text == "Fixed.")
    #expect(result.inputTokens == 7988 && result.cachedInputTokens == 4096)
  }

  @Test("opencode, goose and cursor-agent: tool calls, tokens and cost in each one's shape")
  func otherFormats() throws {
    let opencode = try run("opencode-success", format: .opencodeJSON)
    #expect(kinds(opencode.events) == ["session", "call:bash", "result", "usage", "text", "usage"])
    #expect(opencode.result.inputTokens == 846 && opencode.result.outputTokens == 116)
    #expect(abs(opencode.result.costUsd - 0.0041) < 1e-9)
    #expect(opencode.result.turns == 2)

    let goose = try run("goose-success", format: .gooseStreamJSON, session: "orchion-t1")
    #expect(kinds(goose.events) == ["session", "text", "call:developer__shell", "result", "usage"])
    #expect(goose.result.sessionID == "orchion-t1" && goose.result.costUsd == 0.0045)

    let cursor = try run("cursor-agent-success", format: .cursorStreamJSON)
    #expect(kinds(cursor.events) == ["session", "text", "call:read", "result", "usage", "final"])
    #expect(cursor.result.inputTokens == 12_034 && cursor.result.text == "Done!")
  }

  @Test("aider's text is kept as output; its usage line still gives tokens and cost")
  func aiderText() throws {
    var pipeline = AgentOutputPipeline(
      parser: AgentEventParser(format: .text, model: "", session: nil),
      secrets: SecretRedactor([:])
    )
    let text = "Applied edit to Range.swift\nTokens: 3.0k sent, 1,042 received. Cost: $0.0063 message, $0.0063 session.\n"
    let outputs = pipeline.consume(Array(text.utf8)) + pipeline.finish()
    #expect(outputs.allSatisfy { if case .raw = $0 { true } else { false } })
    let result = pipeline.parser.transcript.result(exitCode: 0, elapsed: .seconds(1))
    #expect(result.inputTokens == 3000 && result.outputTokens == 1042 && result.costUsd == 0.0063)
    #expect(result.unparsedLines == 0)
  }

  @Test("a secret is redacted in raw lines, in event text and when JSON-escaped; a line past the limit is output")
  func secrets() throws {
    let key = "sk-\"quoted\"-key"
    var pipeline = AgentOutputPipeline(
      parser: AgentEventParser(format: .claudeStreamJSON, model: "", session: nil),
      secrets: SecretRedactor(["anthropic": key])
    )
    let escaped = #"sk-\"quoted\"-key"#
    let lines = [
      #"{"type":"assistant","message":{"content":[{"type":"text","text":"key \#(escaped)"}]}}"#,
      "plain \(key) line",
    ].joined(separator: "\n") + "\n"
    let outputs = pipeline.consume(Array(lines.utf8))
    #expect(outputs.count == 2)
    guard case .event(.text(let text)) = outputs[0], case .raw(let raw) = outputs[1] else {
      Issue.record("\(outputs)")
      return
    }
    #expect(text.text == "key [secret anthropic]")
    #expect(String(decoding: raw, as: UTF8.self) == "plain [secret anthropic] line\n")

    let long = Array(repeating: UInt8(ascii: "x"), count: AgentOutputPipeline.maxLineBytes + 10)
    let kept = pipeline.consume(long + Array("\n".utf8)) + pipeline.finish()
    let bytes = kept.reduce(0) { if case .raw(let bytes) = $1 { $0 + bytes.count } else { $0 } }
    #expect(bytes == long.count + 1)
    #expect(pipeline.parser.transcript.unparsedLines == 2)
  }

  @Test("the streaming redactor finds a secret cut across reads, and holds back no more than it must")
  func redactorAcrossReads() {
    var redactor = SecretRedactor(["k": "SECRET-VALUE", "short": "abc"])
    var out: [UInt8] = []
    for piece in ["xxSEC", "RET-VA", "LUEyy SECRET", "-nope abc"] {
      out += redactor.redact(Array(piece.utf8))
    }
    out += redactor.finish()
    #expect(String(decoding: out, as: UTF8.self) == "xx[secret k]yy SECRET-nope abc")
    var quiet = SecretRedactor([:])
    #expect(quiet.redact(Array("SECRET".utf8)) == Array("SECRET".utf8))
  }
  @Test("a secret spanning lines (a PEM key) is redacted in raw output and, JSON-escaped, in a tool's input")
  func multilineSecret() throws {
    let key = "-----BEGIN KEY-----\nMIIBVwIBADANBgkqhkiG9w0B\n-----END KEY-----"
    var pipeline = AgentOutputPipeline(
      parser: AgentEventParser(format: .claudeStreamJSON, model: "", session: nil),
      secrets: SecretRedactor(["deploy-key": key])
    )
    let escaped = SecretRedactor.jsonEscaped(key, slashes: false)
    let text = "cat key.pem\n\(key)\n"
      + #"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t1","name":"Write","input":{"content":"\#(escaped)"}}]}}"#
      + "\n"
    var outputs: [AgentOutputPipeline.Output] = []
    for byte in Array(text.utf8) { outputs += pipeline.consume([byte]) }
    outputs += pipeline.finish()
    var raw = ""
    var inputs: [String] = []
    for output in outputs {
      switch output {
      case .raw(let bytes): raw += String(decoding: bytes, as: UTF8.self)
      case .event(.toolCall(let call)): inputs.append(call.inputJson)
      case .event: break
      }
    }
    #expect(raw == "cat key.pem\n[secret deploy-key]\n")
    #expect(inputs == [#"{"content":"[secret deploy-key]"}"#])
  }

  @Test("a hostile result line still gives a result the orchestrator takes: no negative turns, a duration in range, no session starting with '-'")
  func hostileResult() throws {
    var pipeline = AgentOutputPipeline(
      parser: AgentEventParser(format: .claudeStreamJSON, model: "", session: nil),
      secrets: SecretRedactor([:])
    )
    let line = #"{"type":"result","subtype":"success","is_error":false,"num_turns":-1,"duration_ms":9000000000000000,"session_id":"--resume-everything","total_cost_usd":1e308,"result":"ok"}"#
    let outputs = pipeline.consume(Array((line + "\n").utf8)) + pipeline.finish()
    guard case .event(.result(let reported))? = outputs.last else {
      Issue.record("\(outputs)")
      return
    }
    _ = try AgentResult(validating: reported, field: "result")
    let final = pipeline.parser.transcript.result(exitCode: 0, elapsed: .seconds(1))
    let result = try AgentResult(validating: final, field: "agent_result")
    #expect(result.turns == 0 && result.sessionID.isEmpty)
    #expect(result.costUSD == AgentResult.maxCostUSD)
  }

  @Test("a long streamed answer goes in pieces of the field limit, none of it lost")
  func longStreamedAnswer() throws {
    var pipeline = AgentOutputPipeline(
      parser: AgentEventParser(format: .geminiStreamJSON, model: "", session: nil),
      secrets: SecretRedactor([:])
    )
    let piece = String(repeating: "abcdefgh", count: 512)  // 4 KiB
    var outputs: [AgentOutputPipeline.Output] = []
    for _ in 0..<10 {
      let line = #"{"type":"message","role":"assistant","content":"\#(piece)","delta":true}"#
      outputs += pipeline.consume(Array((line + "\n").utf8))
    }
    outputs += pipeline.finish()
    let texts = outputs.compactMap { output -> String? in
      if case .event(.text(let text)) = output { text.text } else { nil }
    }
    #expect(texts.joined() == String(repeating: piece, count: 10))
    #expect(texts.allSatisfy { $0.utf8.count <= AgentEventRules.maxFieldBytes })
  }
}
