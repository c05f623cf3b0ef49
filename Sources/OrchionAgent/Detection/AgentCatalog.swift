/// The coding-agent CLIs the agent looks for, and how each tells its version.
///
/// Names are Orchion's (`AgentCLI.name`); each is found by its usual executable name on the
/// agent's search path.
struct AgentCatalog: Sendable {
  /// One CLI Orchion knows.
  struct Entry: Hashable, Sendable {
    /// Orchion's name for it, e.g. `claude`.
    var name: String
    /// The executable to look for.
    var executable: String
    /// What makes it print its version and exit.
    var versionArguments: [String]
  }

  var entries: [Entry]

  /// Claude Code, OpenAI Codex, Gemini CLI, opencode, aider, goose, Cursor's agent, Amp,
  /// GitHub Copilot CLI and Qwen Code: each answers `--version`.
  static let standard = AgentCatalog(
    entries: [
      ("claude", "claude"), ("codex", "codex"), ("gemini", "gemini"),
      ("opencode", "opencode"), ("aider", "aider"), ("goose", "goose"),
      ("cursor-agent", "cursor-agent"), ("amp", "amp"), ("copilot", "copilot"),
      ("qwen", "qwen"),
    ].map { Entry(name: $0.0, executable: $0.1, versionArguments: ["--version"]) }
  )
}
