public import OrchionAPI
public import OrchionCore
import SwiftProtobuf

extension Orchion_V1_AgentSpec {
  public init(_ run: AgentRun) {
    self.init()
    name = run.name
    prompt = run.prompt
    model = run.model
    maxTurns = run.maxTurns
    extraArgs = run.extraArguments
    resume = run.resume?.rawValue ?? ""
  }
}

extension AgentRun {
  /// The run a spec's `agent` describes; its limits are checked with the spec's.
  public init(validating proto: Orchion_V1_AgentSpec) throws(OrchionError) {
    self.init(
      name: proto.name,
      prompt: proto.prompt,
      model: proto.model,
      maxTurns: proto.maxTurns,
      extraArguments: proto.extraArgs,
      resume: proto.resume.isEmpty
        ? nil : try TaskID(validating: proto.resume, field: "spec.agent.resume")
    )
  }
}

extension Orchion_V1_AgentStatus {
  public init(_ status: AgentResult.Status) {
    switch status {
    case .succeeded: self = .succeeded
    case .failed: self = .failed
    }
  }
}

extension Orchion_V1_AgentResult {
  public init(_ result: AgentResult) {
    self.init()
    status = .init(result.status)
    sessionID = result.sessionID
    model = result.model
    text = result.text
    turns = result.turns
    if let duration = result.duration { self.duration = .init(duration) }
    inputTokens = result.inputTokens
    outputTokens = result.outputTokens
    cachedInputTokens = result.cachedInputTokens
    if let costUSD = result.costUSD { self.costUsd = costUSD }
    events = result.events
    unparsedLines = result.unparsedLines
    error = result.error
  }
}

extension AgentResult {
  /// The result a message (from a node, or the store) describes.
  /// - Throws: `invalidArgument` naming the field that breaks a rule.
  public init(validating proto: Orchion_V1_AgentResult, field: String) throws(OrchionError) {
    let status: Status
    switch proto.status {
    case .succeeded: status = .succeeded
    case .failed: status = .failed
    default:
      throw .invalidArgument(
        field: "\(field).status",
        "\(field).status: must be SUCCEEDED or FAILED (got \(proto.status.rawValue))"
      )
    }
    self.init(
      status: status,
      sessionID: proto.sessionID,
      model: proto.model,
      text: proto.text,
      turns: proto.turns,
      duration: proto.hasDuration
        ? try Duration(validating: proto.duration, field: "\(field).duration") : nil,
      inputTokens: proto.inputTokens,
      outputTokens: proto.outputTokens,
      cachedInputTokens: proto.cachedInputTokens,
      costUSD: proto.hasCostUsd ? proto.costUsd : nil,
      events: proto.events,
      unparsedLines: proto.unparsedLines,
      error: proto.error
    )
    try validate(field: field)
  }
}
