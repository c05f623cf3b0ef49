import OrchionCore

/// What the agent finds out about its machine that can change while it runs: the agent CLIs
/// installed, and the GPUs' models and memory.
struct DetectedFacts: Equatable, Sendable {
  var agents: [AgentCLI]
  var gpus: GPUInventory
  var models: OllamaModels = .none

  static let none = DetectedFacts(agents: [], gpus: .none)
}

/// Looks for ``DetectedFacts`` — every CLI's version command, `nvidia-smi` and Ollama at once,
/// each bounded by the same timeout.
struct FactsDetector: Sendable {
  let agents: AgentDetector
  let searchPath: [String]
  let environment: [String: String]
  let timeout: Duration
  let clock: any WallClock
  /// Where a local Ollama listens; `nil`: not asked.
  let ollama: (host: String, port: Int)?

  /// A detector searching `searchPath`, giving commands `environment`.
  init(
    searchPath: [String],
    environment: [String: String],
    timeout: Duration = .seconds(5),
    catalog: AgentCatalog = .standard,
    ollama: (host: String, port: Int)? = nil,
    clock: any WallClock
  ) {
    self.ollama = ollama
    self.searchPath = searchPath
    self.environment = environment
    self.timeout = timeout
    self.clock = clock
    agents = AgentDetector(
      catalog: catalog,
      searchPath: searchPath,
      environment: environment,
      timeout: timeout,
      clock: clock
    )
  }

  /// The facts as they are now.
  func detect() async -> DetectedFacts {
    async let agents = agents.detect()
    async let gpus = GPUInventory.query(
      searchPath: searchPath,
      environment: environment,
      timeout: timeout,
      clock: clock
    )
    async let models = askOllama()
    return DetectedFacts(agents: await agents, gpus: await gpus, models: await models)
  }

  private func askOllama() async -> OllamaModels {
    guard let ollama else { return .none }
    return await OllamaModels.query(address: ollama, timeout: timeout, clock: clock)
  }

  /// The search path an agent uses: `--agent-path` directories first, then its PATH.
  static func searchPath(extra: [String], path: String?) -> [String] {
    var directories: [String] = []
    for directory in extra + (path ?? "").split(separator: ":").map(String.init)
    where directory.hasPrefix("/") && !directories.contains(directory) {
      directories.append(directory)
    }
    return directories
  }

  /// What version commands get of the agent's environment: where to find programs and the
  /// user's home (a CLI reads its configuration there), the locale — and nothing else, in
  /// particular not the orchestrator's token.
  static func environment(from agent: [String: String], searchPath: [String]) -> [String: String]
  {
    var environment = agent.filter {
      ["HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR"].contains($0.key)
    }
    environment["PATH"] = searchPath.joined(separator: ":")
    return environment
  }
}
