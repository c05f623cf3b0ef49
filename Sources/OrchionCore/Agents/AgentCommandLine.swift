/// The argv of a headless run, built as each CLI's own documentation gives its non-interactive
/// mode and machine-readable output (README, "AI agents", lists them).
///
/// The prompt is one argument, never through a shell, and always where the CLI cannot take it
/// for an option: after `--`, or joined to its option (`--prompt=…`), so a prompt beginning
/// with `-` is still a prompt. Extra arguments go before it.
public enum AgentCommandLine {
  /// The command for `run`.
  /// - Parameters:
  ///   - task: The task it runs as (names the session of a CLI that Orchion names).
  ///   - resumeSession: The session to continue, from the earlier task's result.
  public static func build(_ run: AgentRun, task: TaskID?, resumeSession: String?) -> [String] {
    guard let flavor = AgentFlavor(name: run.name) else { return [run.name, run.prompt] }
    let model = run.model.isEmpty ? [] : ["--model", run.model]
    let extra = run.extraArguments
    switch flavor {
    case .claude:
      var argv = ["claude", "-p", "--output-format", "stream-json", "--verbose"]
      argv += ["--permission-mode", "acceptEdits"] + model
      if run.maxTurns > 0 { argv += ["--max-turns", "\(run.maxTurns)"] }
      if let resumeSession { argv += ["--resume", resumeSession] }
      return argv + extra + ["--", run.prompt]
    case .codex:
      // Not a repository is not a reason to refuse: Orchion gives each task its directory.
      var argv = ["codex", "exec", "--json", "--skip-git-repo-check"]
      argv += ["--sandbox", "workspace-write"] + model + extra
      if let resumeSession { argv += ["resume", resumeSession] }
      return argv + ["--", run.prompt]
    case .gemini:
      var argv = ["gemini", "--output-format", "stream-json", "--approval-mode", "auto_edit"]
      argv += model
      if let resumeSession { argv += ["--resume", resumeSession] }
      return argv + extra + ["--prompt=" + run.prompt]
    case .opencode:
      var argv = ["opencode", "run", "--format", "json"] + model
      if let resumeSession { argv += ["--session", resumeSession] }
      return argv + extra + ["--", run.prompt]
    case .aider:
      var argv = ["aider", "--yes-always", "--no-pretty", "--no-stream", "--no-fancy-input"]
      argv += ["--no-check-update", "--no-show-model-warnings"] + model
      return argv + extra + ["--message=" + run.prompt]
    case .goose:
      var argv = ["goose", "run", "--output-format", "stream-json"] + model
      if run.maxTurns > 0 { argv += ["--max-turns", "\(run.maxTurns)"] }
      if let resumeSession {
        argv += ["--resume", "--name", resumeSession]
      } else if let task, let name = flavor.sessionName(for: task) {
        argv += ["--name", name]
      }
      return argv + extra + ["--text=" + run.prompt]
    case .cursorAgent:
      var argv = ["cursor-agent", "-p", "--output-format", "stream-json"] + model
      if let resumeSession { argv += ["--resume", resumeSession] }
      return argv + extra + ["--", run.prompt]
    }
  }
}
