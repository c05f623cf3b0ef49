import OrchionAPI
import OrchionCore
import SwiftProtobuf

/// An agent CLI's standard output on its way off the node: cut into lines, secrets redacted,
/// each line parsed into events or, when it is not the CLI's JSON, kept as output.
struct AgentOutputPipeline: Sendable {
  enum Output: Equatable, Sendable {
    case event(Orchion_V1_AgentEvent.OneOf_Kind)
    /// Bytes kept as standard output (a line that did not parse, with its newline).
    case raw([UInt8])
  }

  /// Longest line parsed, in bytes; a longer one is kept as output.
  static let maxLineBytes = 1 << 20

  private(set) var parser: AgentEventParser
  private let secrets: SecretRedactor
  /// Redacts the pieces of an over-long line, which are sent before the line ends.
  private var longLine: SecretRedactor
  private var line: [UInt8] = []
  private var inLongLine = false

  init(parser: AgentEventParser, secrets: SecretRedactor) {
    self.parser = parser
    self.secrets = secrets
    longLine = secrets
  }

  /// Events for the start of the run.
  mutating func start() -> [Output] {
    parser.start().map { .event(redacted($0)) }
  }

  /// What `bytes` complete.
  mutating func consume(_ bytes: some Collection<UInt8>) -> [Output] {
    var outputs: [Output] = []
    for byte in bytes {
      if inLongLine {
        line.append(byte)
        if byte == UInt8(ascii: "\n") {
          outputs.append(.raw(longLine.redact(line) + longLine.finish()))
          line.removeAll(keepingCapacity: true)
          inLongLine = false
        } else if line.count >= Self.maxLineBytes {
          outputs.append(.raw(longLine.redact(line)))
          line.removeAll(keepingCapacity: true)
        }
        continue
      }
      line.append(byte)
      if byte == UInt8(ascii: "\n") {
        outputs += complete()
      } else if line.count >= Self.maxLineBytes {
        // Too long to be an event: output, as it comes, to the end of the line.
        parser.countUnparsed()
        inLongLine = true
        outputs.append(.raw(longLine.redact(line)))
        line.removeAll(keepingCapacity: true)
      }
    }
    return outputs
  }

  /// What is left at the end of the output: a last line without its newline.
  mutating func finish() -> [Output] {
    var outputs: [Output] = []
    if inLongLine {
      inLongLine = false
      outputs.append(.raw(longLine.redact(line) + longLine.finish()))
      line = []
    } else if !line.isEmpty {
      outputs = complete()
    }
    let held = parser.finish()
    parser.countEvents(held.count)
    return outputs + held.map { .event(redacted($0)) }
  }

  private mutating func complete() -> [Output] {
    defer { line.removeAll(keepingCapacity: true) }
    let text = secrets.isActive ? secrets.redactingBytes(line) : line
    let content = text.last == UInt8(ascii: "\n") ? text.dropLast() : text[...]
    guard let events = parser.parse(content) else {
      if !content.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) || parser.format == .text {
        if parser.format != .text { parser.countUnparsed() }
        return [.raw(text)]
      }
      return []
    }
    parser.countEvents(events.count)
    return events.map { .event(redacted($0)) }
  }

  /// `event` with secrets removed from its text (a JSON-escaped secret is only whole once
  /// decoded).
  private func redacted(_ event: Orchion_V1_AgentEvent.OneOf_Kind) -> Orchion_V1_AgentEvent.OneOf_Kind {
    guard secrets.isActive else { return event }
    switch event {
    case .text(var text):
      text.text = secrets.redacting(text.text)
      return .text(text)
    case .toolCall(var call):
      call.inputJson = secrets.redacting(call.inputJson)
      call.name = secrets.redacting(call.name)
      return .toolCall(call)
    case .toolResult(var result):
      result.output = secrets.redacting(result.output)
      return .toolResult(result)
    case .result(var result):
      result.text = secrets.redacting(result.text)
      result.error = secrets.redacting(result.error)
      return .result(result)
    case .sessionStarted, .usage:
      return event
    }
  }
}

extension SecretRedactor {
  /// Redacts a whole piece of output at once.
  func redactingBytes(_ bytes: [UInt8]) -> [UInt8] {
    var copy = self
    return copy.redact(bytes) + copy.finish()
  }
}
