/// A coding-agent CLI run headless: what the person asked for, from which Orchion builds the
/// command (``AgentCommandLine``) and the placement (``AgentPlacement``).
public struct AgentRun: Hashable, Sendable {
  /// The CLI, one of ``AgentFlavor``'s names: `claude`, `codex`, …
  public var name: String
  /// What the agent is asked to do.
  public var prompt: String
  /// The CLI's model option; empty for the CLI's default.
  public var model: String
  /// The most agentic turns, for a CLI with such a limit; 0 for its default.
  public var maxTurns: Int32
  /// Further arguments for the CLI, before the prompt.
  public var extraArguments: [String]
  /// An earlier agent task whose session this one continues.
  public var resume: TaskID?

  /// Creates a run.
  public init(
    name: String,
    prompt: String,
    model: String = "",
    maxTurns: Int32 = 0,
    extraArguments: [String] = [],
    resume: TaskID? = nil
  ) {
    self.name = name
    self.prompt = prompt
    self.model = model
    self.maxTurns = maxTurns
    self.extraArguments = extraArguments
    self.resume = resume
  }

  /// Longest prompt, in bytes: one argument, and Linux takes at most 128 KiB per argument.
  public static let maxPromptBytes = 100 * 1024
  /// Longest model name, in bytes.
  public static let maxModelBytes = 256
  /// Most extra arguments.
  public static let maxExtraArguments = 64
  /// Longest extra argument, in bytes.
  public static let maxExtraArgumentBytes = 4096
  /// Most turns one may ask for.
  public static let maxTurnsLimit: Int32 = 10_000

  /// The prefix of a model a node serves locally through Ollama.
  public static let localModelPrefix = "ollama/"

  /// The locally served model this run needs (`ollama/NAME` gives `NAME`), if any.
  public var localModel: String? {
    guard model.hasPrefix(Self.localModelPrefix) else { return nil }
    let name = String(model.dropFirst(Self.localModelPrefix.count))
    return name.isEmpty ? nil : name
  }

  /// Checks every field against the documented limits.
  /// - Throws: `invalidArgument` naming the field (`spec.agent.prompt`, …) and the rule.
  public func validate() throws(OrchionError) {
    guard AgentFlavor(name: name) != nil else {
      throw .invalidArgument(
        field: "spec.agent.name",
        "spec.agent.name: \(TextRules.quoted(name)) is not a CLI Orchion runs; one of \(AgentFlavor.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    guard !prompt.isEmpty, prompt.utf8.count <= Self.maxPromptBytes else {
      throw .invalidArgument(
        field: "spec.agent.prompt",
        "spec.agent.prompt: \(prompt.utf8.count) bytes, 1-\(Self.maxPromptBytes) allowed"
      )
    }
    guard !prompt.utf8.contains(0) else {
      throw .invalidArgument(field: "spec.agent.prompt", "spec.agent.prompt: must not contain NUL")
    }
    guard model.utf8.count <= Self.maxModelBytes else {
      throw .invalidArgument(
        field: "spec.agent.model",
        "spec.agent.model: at most \(Self.maxModelBytes) bytes"
      )
    }
    if TextRules.firstControlCharacter(in: model) != nil || model.hasPrefix("-") {
      throw .invalidArgument(
        field: "spec.agent.model",
        "spec.agent.model: must not start with '-' nor contain control characters"
      )
    }
    if let local = localModel, !local.unicodeScalars.allSatisfy(AgentRun.isModelCharacter) {
      throw .invalidArgument(
        field: "spec.agent.model",
        "spec.agent.model: a local model is named with letters, digits, '.', '_', '-', '/' and ':'"
      )
    }
    guard (0...Self.maxTurnsLimit).contains(maxTurns) else {
      throw .invalidArgument(
        field: "spec.agent.max_turns",
        "spec.agent.max_turns: must be 0-\(Self.maxTurnsLimit)"
      )
    }
    guard extraArguments.count <= Self.maxExtraArguments else {
      throw .invalidArgument(
        field: "spec.agent.extra_args",
        "spec.agent.extra_args: \(extraArguments.count) arguments, at most \(Self.maxExtraArguments)"
      )
    }
    for (index, argument) in extraArguments.enumerated() {
      guard argument.utf8.count <= Self.maxExtraArgumentBytes, !argument.utf8.contains(0) else {
        throw .invalidArgument(
          field: "spec.agent.extra_args",
          "spec.agent.extra_args[\(index)]: at most \(Self.maxExtraArgumentBytes) bytes, no NUL"
        )
      }
    }
  }

  /// Letters, digits, `.`, `_`, `-`, `/` and `:` (an Ollama tag): what a local model name may hold.
  public static func isModelCharacter(_ scalar: Unicode.Scalar) -> Bool {
    TextRules.isKeyCharacter(scalar) || scalar == ":"
  }
}
