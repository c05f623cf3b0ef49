import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// An agent CLI's standard output on its way off the node: secrets redacted from the stream as
/// it comes (so a secret cut across reads or lines is still found), cut into lines, each line
/// parsed into events or, when it is not the CLI's JSON, kept as output.
struct AgentOutputPipeline: Sendable {
  enum Output: Equatable, Sendable {
    case event(Orchion_V1_AgentEvent.OneOf_Kind)
    /// Bytes kept as standard output (lines that did not parse, with their newlines).
    case raw([UInt8])
  }

  /// Longest line parsed, in bytes; a longer one is kept as output.
  static let maxLineBytes = 1 << 20

  private(set) var parser: AgentEventParser
  /// Redacts the byte stream, before it is cut into lines.
  private var stream: SecretRedactor
  /// Redacts decoded event text once more: JSON may spell a secret in ways the stream did not
  /// show whole (`\u0041` escapes).
  private let secrets: SecretRedactor
  private var line: [UInt8] = []
  private var inLongLine = false

  init(parser: AgentEventParser, secrets: SecretRedactor) {
    self.parser = parser
    self.secrets = secrets
    stream = secrets
  }

  /// Events for the start of the run.
  mutating func start() -> [Output] {
    parser.start().compactMap(checked)
  }

  /// What `bytes` complete.
  mutating func consume(_ bytes: some Collection<UInt8>) -> [Output] {
    split(stream.redact(bytes))
  }

  /// What is left at the end of the output: a last line without its newline, and what the
  /// parser still held.
  mutating func finish() -> [Output] {
    var outputs = split(stream.finish())
    if inLongLine {
      inLongLine = false
      outputs.append(.raw(line))
      line = []
    } else if !line.isEmpty {
      outputs += complete()
    }
    let held = parser.finish().compactMap(checked)
    parser.countEvents(held.count)
    return Self.coalesced(outputs + held)
  }

  private mutating func split(_ bytes: [UInt8]) -> [Output] {
    var outputs: [Output] = []
    for byte in bytes {
      line.append(byte)
      if inLongLine {
        if byte == UInt8(ascii: "\n") {
          outputs.append(.raw(line))
          line.removeAll(keepingCapacity: true)
          inLongLine = false
        } else if line.count >= Self.maxLineBytes {
          outputs.append(.raw(line))
          line.removeAll(keepingCapacity: true)
        }
      } else if byte == UInt8(ascii: "\n") {
        outputs += complete()
      } else if line.count >= Self.maxLineBytes {
        // Too long to be an event: output, as it comes, to the end of the line.
        parser.countUnparsed()
        inLongLine = true
        outputs.append(.raw(line))
        line.removeAll(keepingCapacity: true)
      }
    }
    return Self.coalesced(outputs)
  }

  private mutating func complete() -> [Output] {
    defer { line.removeAll(keepingCapacity: true) }
    let content = line.last == UInt8(ascii: "\n") ? line.dropLast() : line[...]
    guard let events = parser.parse(content) else {
      let blank = content.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
      if parser.format == .text { return [.raw(line)] }
      if blank { return [] }
      parser.countUnparsed()
      return [.raw(line)]
    }
    let kept = events.compactMap(checked)
    parser.countEvents(kept.count)
    return kept
  }

  /// `event` with secrets removed and bounds applied again, if the orchestrator would take it:
  /// one it would refuse is dropped here, since a refused message would be sent again and again.
  private func checked(_ event: Orchion_V1_AgentEvent.OneOf_Kind) -> Output? {
    let cleaned = AgentEventRules.mapText(of: event) { text, limit in
      AgentText.clip(secrets.redacting(text), to: limit)
    }
    do throws(OrchionError) {
      try AgentEventRules.validate(.with { $0.kind = cleaned }, field: "event")
    } catch {
      return nil
    }
    return .event(cleaned)
  }

  /// Neighbouring raw outputs joined: each output becomes one outbox item, and a CLI printing
  /// blank or short lines must not make one item per line.
  static func coalesced(_ outputs: [Output]) -> [Output] {
    var result: [Output] = []
    result.reserveCapacity(outputs.count)
    for output in outputs {
      if case .raw(let bytes) = output, case .raw(let previous)? = result.last,
        previous.count + bytes.count <= AgentStreamLimits.maxChunkBytes
      {
        result[result.count - 1] = .raw(previous + bytes)
      } else {
        result.append(output)
      }
    }
    return result
  }
}
