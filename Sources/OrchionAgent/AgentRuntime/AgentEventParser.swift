import OrchionAPI
import OrchionCore
import SwiftProtobuf

/// Turns one CLI's machine-readable output lines into typed events, accumulating the run's
/// transcript. A line that is not the CLI's JSON gives `nil` (the caller keeps it as output);
/// a JSON line of a kind this parser does not know gives no events (CLIs add kinds).
struct AgentEventParser: Sendable {
  typealias Event = Orchion_V1_AgentEvent.OneOf_Kind

  let format: AgentFlavor.OutputFormat
  private(set) var transcript = AgentTranscript()
  private var sessionAnnounced = false
  /// Gemini streams its answer in pieces: the current message so far (not yet sent).
  private var streamingText = ""
  /// The part of the current answer already sent in pieces (bounded by the result's limit).
  private var answered = ""

  /// - Parameters:
  ///   - model: The model the run was asked for (a CLI that does not say uses it).
  ///   - session: The session Orchion named for the CLI, if it did (goose).
  init(format: AgentFlavor.OutputFormat, model: String, session: String?) {
    self.format = format
    transcript.model = model
    if let session { transcript.sessionID = session }
  }

  /// Events for the start of a run: the session, when Orchion named it.
  mutating func start() -> [Event] {
    guard !transcript.sessionID.isEmpty, !sessionAnnounced else { return [] }
    sessionAnnounced = true
    return [session()]
  }

  /// The events on `line`, or `nil` when it is not the CLI's JSON.
  mutating func parse(_ line: some Collection<UInt8>) -> [Event]? {
    switch format {
    case .text:
      parseTextLine(String(decoding: line, as: UTF8.self))
      return nil
    default:
      guard let json = JSONLine(line) else { return nil }
      let events: [Event]
      switch format {
      case .claudeStreamJSON: events = parseClaude(json)
      case .cursorStreamJSON: events = parseCursor(json)
      case .codexJSON: events = parseCodex(json)
      case .geminiStreamJSON: events = parseGemini(json)
      case .opencodeJSON: events = parseOpencode(json)
      case .gooseStreamJSON: events = parseGoose(json)
      case .text: events = []
      }
      return events
    }
  }

  /// Events still held when the output ends (an answer streamed in pieces).
  mutating func finish() -> [Event] {
    flushStreamingText()
  }

  /// Gemini's answer so far as one text event: it streams an answer in pieces (`delta`), and
  /// a transcript wants the answer, not its pieces.
  private mutating func flushStreamingText() -> [Event] {
    defer {
      streamingText = ""
      answered = ""
    }
    guard !streamingText.isEmpty else { return [] }
    transcript.finalText = AgentText.clip(answered + streamingText, to: AgentResult.maxTextBytes)
    return [.text(.with { $0.text = AgentText.clip(streamingText) })]
  }

  /// Counts a line kept as output.
  mutating func countUnparsed() { transcript.unparsedLines += 1 }

  /// Counts events sent.
  mutating func countEvents(_ count: Int) { transcript.events += Int64(count) }

  // MARK: Shared shapes

  private mutating func session() -> Event {
    .sessionStarted(
      .with {
        $0.sessionID = AgentText.clip(transcript.sessionID, to: AgentResult.maxSessionIDBytes)
        $0.model = AgentText.clip(transcript.model, to: AgentRun.maxModelBytes)
      }
    )
  }

  private mutating func startSession(id: String?, model: String?) -> [Event] {
    if let id, !id.isEmpty { transcript.sessionID = id }
    if let model, !model.isEmpty { transcript.model = model }
    guard !sessionAnnounced, !transcript.sessionID.isEmpty else { return [] }
    sessionAnnounced = true
    return [session()]
  }

  private mutating func text(_ text: String, thinking: Bool = false) -> Event {
    if !thinking { transcript.finalText = text }
    return .text(
      .with {
        $0.text = AgentText.clip(text)
        $0.thinking = thinking
      }
    )
  }

  private func toolCall(id: String, name: String, input: String) -> Event {
    .toolCall(
      .with {
        $0.id = AgentText.clip(id, to: 256)
        $0.name = AgentText.clip(name, to: 256)
        $0.inputJson = AgentText.clip(input)
      }
    )
  }

  private func toolResult(id: String, output: String, isError: Bool) -> Event {
    .toolResult(
      .with {
        $0.id = AgentText.clip(id, to: 256)
        $0.output = AgentText.clip(output)
        $0.isError = isError
      }
    )
  }

  private func usage() -> Event {
    .usage(
      .with {
        $0.inputTokens = max(0, transcript.inputTokens)
        $0.outputTokens = max(0, transcript.outputTokens)
        $0.cachedInputTokens = max(0, transcript.cachedInputTokens)
      }
    )
  }

  /// The CLI's own final result: usage, then the result.
  private mutating func finalResult(failed: Bool, error: String?) -> [Event] {
    transcript.reportedFailure = failed
    if let error, failed { transcript.error = error }
    transcript.resultSent = true
    return [
      usage(),
      .result(transcript.result(exitCode: 0, elapsed: transcript.duration ?? .zero)),
    ]
  }

  // MARK: Claude Code (and cursor-agent, which shares its envelope)

  private mutating func parseClaude(_ json: JSONLine) -> [Event] {
    switch json.string("type") {
    case "system" where json.string("subtype") == "init":
      return startSession(id: json.string("session_id"), model: json.string("model"))
    case "assistant":
      var events: [Event] = []
      for block in json.object("message")?.objects("content") ?? [] {
        switch block.string("type") {
        case "text": events.append(text(block.string("text") ?? ""))
        case "thinking": events.append(text(block.string("thinking") ?? "", thinking: true))
        case "tool_use":
          events.append(
            toolCall(id: block.string("id") ?? "", name: block.string("name") ?? "", input: block.json("input"))
          )
        default: break
        }
      }
      return events
    case "user":
      return (json.object("message")?.objects("content") ?? []).compactMap { block in
        guard block.string("type") == "tool_result" else { return nil }
        let content =
          block.string("content")
          ?? block.objects("content").compactMap { $0.string("text") }.joined(separator: "\n")
        return toolResult(
          id: block.string("tool_use_id") ?? "",
          output: content,
          isError: block.bool("is_error") ?? false
        )
      }
    case "result":
      if let id = json.string("session_id"), !id.isEmpty { transcript.sessionID = id }
      if let result = json.string("result") { transcript.finalText = result }
      transcript.turns = Int32(clamping: max(0, json.integer("num_turns") ?? Int64(transcript.turns)))
      if let milliseconds = json.integer("duration_ms") { transcript.duration = Self.duration(milliseconds) }
      if let usage = json.object("usage") {
        transcript.inputTokens = usage.integer("input_tokens") ?? transcript.inputTokens
        transcript.outputTokens = usage.integer("output_tokens") ?? transcript.outputTokens
        transcript.cachedInputTokens =
          usage.integer("cache_read_input_tokens") ?? transcript.cachedInputTokens
      }
      if let cost = json.double("total_cost_usd") { transcript.addCost(cost) }
      let subtype = json.string("subtype") ?? ""
      let failed = json.bool("is_error") ?? (subtype != "success")
      let error = json.objects("errors").isEmpty ? nil : json.json("errors")
      return finalResult(failed: failed, error: error ?? (failed ? subtype : nil))
    default:
      return []
    }
  }

  private mutating func parseCursor(_ json: JSONLine) -> [Event] {
    switch json.string("type") {
    case "tool_call":
      let id = json.string("call_id") ?? ""
      let call = json.object("tool_call")
      let kind = call?.object.keys.sorted().first ?? "tool"
      let body = call?.object(kind)
      let name = kind.hasSuffix("ToolCall") ? String(kind.dropLast("ToolCall".count)) : kind
      if json.string("subtype") == "started" {
        return [toolCall(id: id, name: name, input: body?.json("args") ?? "")]
      }
      guard json.string("subtype") == "completed" else { return [] }
      let result = body?.object("result")
      let failed = result?.object("success") == nil
      return [toolResult(id: id, output: body?.json("result") ?? "", isError: failed)]
    case "result":
      if let usage = json.object("usage") {
        transcript.inputTokens = usage.integer("inputTokens") ?? 0
        transcript.outputTokens = usage.integer("outputTokens") ?? 0
        transcript.cachedInputTokens = usage.integer("cacheReadTokens") ?? 0
      }
      return parseClaude(json)
    default:
      return parseClaude(json)
    }
  }

  // MARK: Codex

  private mutating func parseCodex(_ json: JSONLine) -> [Event] {
    switch json.string("type") {
    case "thread.started":
      return startSession(id: json.string("thread_id"), model: nil)
    case "turn.completed":
      transcript.countTurn()
      // Totals for the thread so far, not increments.
      if let usage = json.object("usage") {
        transcript.inputTokens = usage.integer("input_tokens") ?? transcript.inputTokens
        transcript.outputTokens = usage.integer("output_tokens") ?? transcript.outputTokens
        transcript.cachedInputTokens =
          usage.integer("cached_input_tokens") ?? transcript.cachedInputTokens
      }
      return [usage()]
    case "turn.failed":
      transcript.reportedFailure = true
      transcript.error = json.object("error")?.string("message") ?? "turn failed"
      return []
    case "error":
      transcript.error = json.string("message") ?? transcript.error
      return []
    case "item.started", "item.completed":
      guard let item = json.object("item") else { return [] }
      return codexItem(item, completed: json.string("type") == "item.completed")
    default:
      return []
    }
  }

  private mutating func codexItem(_ item: JSONLine, completed: Bool) -> [Event] {
    let id = item.string("id") ?? ""
    switch item.string("type") {
    case "agent_message" where completed: return [text(item.string("text") ?? "")]
    case "reasoning" where completed: return [text(item.string("text") ?? "", thinking: true)]
    case "command_execution":
      if !completed {
        return [toolCall(id: id, name: "shell", input: JSONLine.text(of: ["command": item.string("command") ?? ""]))]
      }
      let status = item.string("status") ?? ""
      return [
        toolResult(
          id: id,
          output: item.string("aggregated_output") ?? "",
          isError: status == "failed" || status == "declined" || (item.integer("exit_code") ?? 0) != 0
        )
      ]
    case "mcp_tool_call" where completed:
      let name = [item.string("server"), item.string("tool")].compactMap { $0 }.joined(separator: ".")
      let error = item.object("error")?.string("message")
      return [
        toolCall(id: id, name: name, input: item.json("arguments")),
        toolResult(id: id, output: error ?? item.json("result"), isError: error != nil),
      ]
    case "file_change" where completed:
      return [
        toolCall(id: id, name: "file_change", input: item.json("changes")),
        toolResult(id: id, output: item.string("status") ?? "", isError: item.string("status") == "failed"),
      ]
    case "web_search" where completed:
      return [toolCall(id: id, name: "web_search", input: JSONLine.text(of: ["query": item.string("query") ?? ""]))]
    case "error" where completed:
      return []
    default:
      return []
    }
  }

  // MARK: Gemini

  private mutating func parseGemini(_ json: JSONLine) -> [Event] {
    let type = json.string("type")
    // Any other event ends the answer being streamed.
    let answer = type == "message" ? [] : flushStreamingText()
    return answer + parseGeminiEvent(json, type: type)
  }

  private mutating func parseGeminiEvent(_ json: JSONLine, type: String?) -> [Event] {
    switch type {
    case "init":
      return startSession(id: json.string("session_id"), model: json.string("model"))
    case "message":
      guard json.string("role") == "assistant", let content = json.string("content") else {
        return []
      }
      guard json.bool("delta") == true else {
        let answer = flushStreamingText()
        return answer + [text(content)]
      }
      streamingText += content
      // Bounded: a long answer goes in pieces of the field limit, none of it dropped.
      var pieces: [Event] = []
      while streamingText.utf8.count >= AgentText.maxFieldBytes {
        let piece = AgentText.prefix(streamingText, bytes: AgentText.maxFieldBytes)
        streamingText.removeFirst(piece.count)
        if answered.utf8.count < AgentResult.maxTextBytes { answered += piece }
        pieces.append(.text(.with { $0.text = piece }))
      }
      transcript.finalText = AgentText.clip(answered + streamingText, to: AgentResult.maxTextBytes)
      return pieces
    case "tool_use":
      transcript.countTurn()
      return [
        toolCall(
          id: json.string("tool_id") ?? "",
          name: json.string("tool_name") ?? "",
          input: json.json("parameters")
        )
      ]
    case "tool_result":
      let failed = json.string("status") == "error"
      let output = failed ? (json.object("error")?.string("message") ?? "") : (json.string("output") ?? "")
      return [toolResult(id: json.string("tool_id") ?? "", output: output, isError: failed)]
    case "error" where json.string("severity") == "error":
      transcript.error = json.string("message") ?? ""
      return []
    case "result":
      if let stats = json.object("stats") {
        transcript.inputTokens = stats.integer("input_tokens") ?? 0
        transcript.outputTokens = stats.integer("output_tokens") ?? 0
        transcript.cachedInputTokens = stats.integer("cached") ?? 0
        if let milliseconds = stats.integer("duration_ms") { transcript.duration = Self.duration(milliseconds) }
      }
      let failed = json.string("status") != "success"
      let error = json.object("error")?.string("message")
      return finalResult(failed: failed, error: error ?? (failed ? transcript.error : nil))
    default:
      return []
    }
  }

  // MARK: opencode

  private mutating func parseOpencode(_ json: JSONLine) -> [Event] {
    var events = startSession(id: json.string("sessionID"), model: nil)
    let part = json.object("part")
    switch json.string("type") {
    case "text":
      events.append(text(part?.string("text") ?? ""))
    case "reasoning":
      events.append(text(part?.string("text") ?? "", thinking: true))
    case "tool_use":
      let id = part?.string("callID") ?? part?.string("id") ?? ""
      let state = part?.object("state")
      let failed = state?.string("status") == "error"
      events.append(toolCall(id: id, name: part?.string("tool") ?? "", input: state?.json("input") ?? ""))
      events.append(
        toolResult(
          id: id,
          output: failed ? (state?.json("error") ?? "") : (state?.string("output") ?? ""),
          isError: failed
        )
      )
    case "step_finish":
      transcript.countTurn()
      if let tokens = part?.object("tokens") {
        transcript.inputTokens = AgentTranscript.adding(tokens.integer("input"), to: transcript.inputTokens)
        transcript.outputTokens = AgentTranscript.adding(
          tokens.integer("reasoning"),
          to: AgentTranscript.adding(tokens.integer("output"), to: transcript.outputTokens)
        )
        transcript.cachedInputTokens = AgentTranscript.adding(
          tokens.object("cache")?.integer("read"),
          to: transcript.cachedInputTokens
        )
      }
      if let cost = part?.double("cost") { transcript.addCost(cost) }
      events.append(usage())
    case "error":
      transcript.error = json.object("error")?.object("data")?.string("message")
        ?? json.object("error")?.string("name") ?? "error"
      transcript.reportedFailure = true
    default:
      break
    }
    return events
  }

  // MARK: goose

  private mutating func parseGoose(_ json: JSONLine) -> [Event] {
    switch json.string("type") {
    case "message":
      guard let message = json.object("message"), message.string("role") != nil else { return [] }
      var events: [Event] = []
      for block in message.objects("content") {
        switch block.string("type") {
        case "text" where message.string("role") == "assistant":
          events.append(text(block.string("text") ?? ""))
        case "thinking":
          events.append(text(block.string("thinking") ?? "", thinking: true))
        case "toolRequest":
          let call = block.object("toolCall")?.object("value")
          transcript.countTurn()
          events.append(
            toolCall(id: block.string("id") ?? "", name: call?.string("name") ?? "", input: call?.json("arguments") ?? "")
          )
        case "toolResponse":
          let result = block.object("toolResult")
          let value = result?.object("value")
          let contents = value?.objects("content") ?? result?.objects("value") ?? []
          let output = contents.compactMap { $0.string("text") }.joined(separator: "\n")
          let failed = result?.string("status") == "error" || value?.bool("isError") == true
          events.append(toolResult(id: block.string("id") ?? "", output: output, isError: failed))
        default:
          break
        }
      }
      return events
    case "error":
      transcript.error = json.string("error") ?? "error"
      return []
    case "complete":
      transcript.inputTokens = json.integer("input_tokens") ?? transcript.inputTokens
      transcript.outputTokens = json.integer("output_tokens") ?? transcript.outputTokens
      transcript.cachedInputTokens = json.integer("cache_read_input_tokens") ?? transcript.cachedInputTokens
      if let cost = json.double("cost_usd") { transcript.addCost(cost) }
      return [usage()]
    default:
      return []
    }
  }

  // MARK: aider (text)

  /// Reads aider's usage line: `Tokens: 3.0k sent, 42 received. Cost: $0.0063 message, $0.0063 session.`
  private mutating func parseTextLine(_ line: String) {
    guard line.hasPrefix("Tokens: ") else { return }
    let words = line.split(separator: " ")
    func amount(before word: String) -> Int64? {
      guard let index = words.firstIndex(where: { $0.hasPrefix(word) }), index > 0 else { return nil }
      return Self.tokenCount(words[index - 1])
    }
    transcript.inputTokens = AgentTranscript.adding(amount(before: "sent"), to: transcript.inputTokens)
    transcript.outputTokens = AgentTranscript.adding(amount(before: "received"), to: transcript.outputTokens)
    if let index = words.firstIndex(of: "Cost:"), index + 1 < words.count,
      let cost = Double(words[index + 1].drop { $0 == "$" })
    {
      transcript.addCost(cost)
    }
  }

  /// A duration a CLI reported in milliseconds, kept in range.
  static func duration(_ milliseconds: Int64) -> Duration {
    .milliseconds(min(max(0, milliseconds), 365 * 86_400_000))
  }

  /// `3.0k`, `1,204`, `42` as a count.
  static func tokenCount(_ text: Substring) -> Int64? {
    var digits = text.filter { $0 != "," }
    var scale = 1.0
    if digits.hasSuffix("k") {
      scale = 1_000
      digits.removeLast()
    } else if digits.hasSuffix("M") {
      scale = 1_000_000
      digits.removeLast()
    }
    guard let value = Double(digits), value.isFinite, value >= 0, value * scale < 9e18 else { return nil }
    return Int64(value * scale)
  }
}
