/// The coding-agent CLIs Orchion runs headless, each with its own flags and output format.
public enum AgentFlavor: String, CaseIterable, Hashable, Sendable {
  case claude
  case codex
  case gemini
  case opencode
  case aider
  case goose
  case cursorAgent = "cursor-agent"

  /// The flavour a spec's `agent.name` names.
  public init?(name: String) {
    self.init(rawValue: name)
  }

  /// What the CLI prints in headless mode.
  public enum OutputFormat: Hashable, Sendable {
    /// Claude Code's stream-json (also cursor-agent's, with its own tool-call shape).
    case claudeStreamJSON
    case cursorStreamJSON
    /// `codex exec --json`: thread, turn and item events.
    case codexJSON
    /// `gemini --output-format stream-json`: init, message, tool_use, tool_result, result.
    case geminiStreamJSON
    /// `opencode run --format json`: step_start, text, tool_use, step_finish, done.
    case opencodeJSON
    /// `goose run --output-format stream-json`: message, notification, error, complete.
    case gooseStreamJSON
    /// No machine-readable mode: kept as text.
    case text
  }

  public var outputFormat: OutputFormat {
    switch self {
    case .claude: .claudeStreamJSON
    case .cursorAgent: .cursorStreamJSON
    case .codex: .codexJSON
    case .gemini: .geminiStreamJSON
    case .opencode: .opencodeJSON
    case .goose: .gooseStreamJSON
    case .aider: .text
    }
  }

  /// Whether the CLI can continue a session by ID.
  public var canResume: Bool { self != .aider }

  /// The session a run of this CLI starts when Orchion names it (goose names sessions instead
  /// of printing an ID); `nil` when the CLI reports its own.
  public func sessionName(for task: TaskID) -> String? {
    self == .goose ? "orchion-\(task.rawValue)" : nil
  }

  /// The usual environment variables of the CLI's API key: a hint for `--secret-env`.
  public var apiKeyVariables: [String] {
    switch self {
    case .claude: ["ANTHROPIC_API_KEY"]
    case .codex: ["CODEX_API_KEY", "OPENAI_API_KEY"]
    case .gemini: ["GEMINI_API_KEY"]
    case .cursorAgent: ["CURSOR_API_KEY"]
    case .opencode, .aider, .goose: ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]
    }
  }
}
