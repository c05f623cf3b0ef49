import OrchionCore
import OrchionTestSupport
import Testing

@Suite("Agent runs: validation, command lines, placement")
struct AgentRunTests {
  let task = TaskID(createdAt: UTCInstant(nanosecondsSinceEpoch: 1_700_000_000_000_000_000), sequence: 7)

  @Test("an agent spec is checked field by field, naming the field")
  func validation() throws {
    try AgentRun(name: "claude", prompt: "fix it").validate()
    func invalid(_ run: AgentRun) -> String {
      expectOrchionError(.invalidArgument) { try run.validate() }
    }
    #expect(invalid(AgentRun(name: "chatgpt", prompt: "x")).contains("spec.agent.name"))
    #expect(invalid(AgentRun(name: "claude", prompt: "")).contains("spec.agent.prompt"))
    let huge = String(repeating: "x", count: AgentRun.maxPromptBytes + 1)
    #expect(invalid(AgentRun(name: "claude", prompt: huge)).contains("spec.agent.prompt"))
    #expect(invalid(AgentRun(name: "claude", prompt: "a\u{0}b")).contains("NUL"))
    #expect(invalid(AgentRun(name: "claude", prompt: "x", model: "--yolo")).contains("spec.agent.model"))
    #expect(invalid(AgentRun(name: "aider", prompt: "x", model: "ollama/llama 3")).contains("local model"))
    #expect(invalid(AgentRun(name: "claude", prompt: "x", maxTurns: -1)).contains("max_turns"))
    let many = Array(repeating: "-v", count: AgentRun.maxExtraArguments + 1)
    #expect(invalid(AgentRun(name: "claude", prompt: "x", extraArguments: many)).contains("extra_args"))
    // A spec of an agent task needs no command (Orchion builds it); others still do.
    try TaskSpec(command: [], maxAttempts: 1).with(agent: AgentRun(name: "codex", prompt: "x")).validate()
    _ = expectOrchionError(.invalidArgument) { try TaskSpec(command: []).validate() }
  }

  @Test("each CLI's headless argv: documented flags, extra arguments, the prompt where no option can take it")
  func commandLines() {
    let prompt = "-rf: fix it"
    func argv(_ name: String, model: String = "", turns: Int32 = 0, resume: String? = nil) -> [String] {
      AgentCommandLine.build(
        AgentRun(name: name, prompt: prompt, model: model, maxTurns: turns, extraArguments: ["--x"]),
        task: task,
        resumeSession: resume
      )
    }
    #expect(
      argv("claude", model: "opus", turns: 4, resume: "s1") == [
        "claude", "-p", "--output-format", "stream-json", "--verbose", "--permission-mode",
        "acceptEdits", "--model", "opus", "--max-turns", "4", "--resume", "s1", "--x", "--", prompt,
      ]
    )
    #expect(
      argv("codex", resume: "th") == [
        "codex", "exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write", "--x",
        "resume", "th", "--", prompt,
      ]
    )
    #expect(argv("gemini").last == "--prompt=" + prompt)
    #expect(argv("gemini").starts(with: ["gemini", "--output-format", "stream-json"]))
    #expect(argv("opencode", resume: "ses_1").suffix(4) == ["ses_1", "--x", "--", prompt])
    #expect(argv("aider").first == "aider" && argv("aider").last == "--message=" + prompt)
    #expect(argv("aider").contains("--yes-always"))
    #expect(argv("goose").contains("orchion-\(task)") && argv("goose").last == "--text=" + prompt)
    #expect(argv("cursor-agent").starts(with: ["cursor-agent", "-p", "--output-format", "stream-json"]))
  }

  @Test("placement: the CLI as a resource and a constraint, a small default reservation, the local model, the resumed node")
  func placement() throws {
    var spec = TaskSpec(command: [])
    spec.agent = AgentRun(name: "aider", prompt: "x", model: "ollama/qwen2.5-coder:7b")
    let node = try NodeID(validating: "gpu-box")
    let prepared = AgentPlacement.prepare(spec, task: task, resumeSession: nil, resumeNode: node)
    #expect(prepared.command.first == "aider")
    #expect(prepared.resources.extended == ["agent.orchion.io/aider": 1])
    #expect(prepared.resources.cpuMillis == AgentPlacement.defaultCPUMillis)
    #expect(prepared.resources.memoryBytes == AgentPlacement.defaultMemoryBytes)
    #expect(
      prepared.constraints == [
        .exists(key: "agent.orchion.io/aider"), .exists(key: "model.orchion.io/qwen2.5-coder_7b"),
      ]
    )
    #expect(prepared.node == node)
    try prepared.validate()

    var explicit = spec
    explicit.resources = Resources(cpuMillis: 2000, memoryBytes: 1 << 30)
    #expect(AgentPlacement.prepare(explicit, task: task).resources.cpuMillis == 2000)

    #expect(AgentPlacement.unplaceable(prepared, nodeLabels: [["zone": "a"]])?.contains("no node reports it") == true)
    let withCLI = ["agent.orchion.io/aider": "0.86.2"]
    #expect(AgentPlacement.unplaceable(prepared, nodeLabels: [withCLI])?.contains("serving model") == true)
    let both = withCLI.merging(["model.orchion.io/qwen2.5-coder_7b": "true"]) { $1 }
    #expect(AgentPlacement.unplaceable(prepared, nodeLabels: [withCLI, both]) == nil)
  }
}

extension TaskSpec {
  fileprivate func with(agent: AgentRun) -> TaskSpec {
    var spec = self
    spec.agent = agent
    return spec
  }
}
