/// What an agent run came to, as its node read it from the CLI's output: kept with the task.
public struct AgentResult: Hashable, Sendable {
  public enum Status: Hashable, Sendable {
    case succeeded
    case failed
  }

  public var status: Status
  /// The CLI's session, for a later `--resume`.
  public var sessionID: String
  public var model: String
  /// The agent's final answer.
  public var text: String
  public var turns: Int32
  public var duration: Duration?
  public var inputTokens: Int64
  public var outputTokens: Int64
  public var cachedInputTokens: Int64
  /// In US dollars, where the CLI reports it.
  public var costUSD: Double?
  /// Events sent for the attempt.
  public var events: Int64
  /// Output lines that were not the CLI's JSON (kept as stdout).
  public var unparsedLines: Int64
  /// Why it failed, as the CLI said.
  public var error: String

  public init(
    status: Status,
    sessionID: String = "",
    model: String = "",
    text: String = "",
    turns: Int32 = 0,
    duration: Duration? = nil,
    inputTokens: Int64 = 0,
    outputTokens: Int64 = 0,
    cachedInputTokens: Int64 = 0,
    costUSD: Double? = nil,
    events: Int64 = 0,
    unparsedLines: Int64 = 0,
    error: String = ""
  ) {
    self.status = status
    self.sessionID = sessionID
    self.model = model
    self.text = text
    self.turns = turns
    self.duration = duration
    self.inputTokens = inputTokens
    self.outputTokens = outputTokens
    self.cachedInputTokens = cachedInputTokens
    self.costUSD = costUSD
    self.events = events
    self.unparsedLines = unparsedLines
    self.error = error
  }

  /// Longest session ID, in bytes.
  public static let maxSessionIDBytes = 256
  /// Longest final text or error kept, in bytes.
  public static let maxTextBytes = 16 * 1024
  /// Highest cost believed: a node reporting more is wrong.
  public static let maxCostUSD = 1_000_000.0

  /// Checks a result a node sent.
  /// - Parameter field: Where it is in the message.
  /// - Throws: `invalidArgument` naming the field and the rule.
  public func validate(field: String) throws(OrchionError) {
    guard sessionID.utf8.count <= Self.maxSessionIDBytes,
      TextRules.firstControlCharacter(in: sessionID) == nil,
      !sessionID.hasPrefix("-")
    else {
      throw .invalidArgument(
        field: "\(field).session_id",
        "\(field).session_id: at most \(Self.maxSessionIDBytes) bytes, no control characters, not starting with '-'"
      )
    }
    guard model.utf8.count <= AgentRun.maxModelBytes else {
      throw .invalidArgument(field: "\(field).model", "\(field).model: at most \(AgentRun.maxModelBytes) bytes")
    }
    guard text.utf8.count <= Self.maxTextBytes, error.utf8.count <= Self.maxTextBytes else {
      throw .invalidArgument(
        field: "\(field).text",
        "\(field).text and error: at most \(Self.maxTextBytes) bytes each"
      )
    }
    guard turns >= 0, inputTokens >= 0, outputTokens >= 0, cachedInputTokens >= 0, events >= 0,
      unparsedLines >= 0
    else {
      throw .invalidArgument(field: field, "\(field): counts must not be negative")
    }
    if let duration, duration < .zero {
      throw .invalidArgument(field: "\(field).duration", "\(field).duration: must not be negative")
    }
    if let costUSD, !(costUSD.isFinite && costUSD >= 0 && costUSD <= Self.maxCostUSD) {
      throw .invalidArgument(
        field: "\(field).cost_usd",
        "\(field).cost_usd: must be a finite amount from 0 to \(Int(Self.maxCostUSD))"
      )
    }
  }
}
