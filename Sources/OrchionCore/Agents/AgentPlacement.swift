/// What an agent task needs of its node, added to its spec when it is submitted: the CLI (a
/// resource the node offers once per run it allows, `orchion agent --max-agents`), the local
/// model where it names one, and a small default reservation.
public enum AgentPlacement {
  /// CPU an agent task reserves when it names none: it mostly waits on its model's API.
  public static let defaultCPUMillis: Int64 = 250
  /// Memory an agent task reserves when it names none: a CLI's runtime and its tools' output.
  public static let defaultMemoryBytes: Int64 = 512 << 20
  /// Where the labels of models a node serves locally live: `model.orchion.io/<name>`.
  public static let modelLabelPrefix = "model.orchion.io/"

  /// The resource counting concurrent runs of CLI `name` on a node (and the label naming it).
  public static func resource(for name: String) -> String { AgentCLI.labelPrefix + name }

  /// The label a node serving local model `name` carries (`:` is not a label character, so a
  /// tag `llama3:8b` becomes `llama3_8b`).
  public static func modelLabel(for name: String) -> String {
    modelLabelPrefix + String(name.map { $0 == ":" ? "_" : $0 })
  }

  /// `spec` with its command built and its needs added.
  /// - Parameters:
  ///   - task: The task's ID (names a session where the CLI lets Orchion name it).
  ///   - resumeSession: The session an earlier task left, to continue.
  ///   - resumeNode: Where that session lives: the task runs there only.
  public static func prepare(
    _ spec: TaskSpec,
    task: TaskID,
    resumeSession: String? = nil,
    resumeNode: NodeID? = nil
  ) -> TaskSpec {
    guard let agent = spec.agent else { return spec }
    var spec = spec
    spec.command = AgentCommandLine.build(agent, task: task, resumeSession: resumeSession)
    if spec.resources.cpuMillis == 0 { spec.resources.cpuMillis = defaultCPUMillis }
    if spec.resources.memoryBytes == 0 { spec.resources.memoryBytes = defaultMemoryBytes }
    let cli = resource(for: agent.name)
    if spec.resources.extended[cli, default: 0] < 1 { spec.resources.extended[cli] = 1 }
    var needed: [LabelConstraint] = [.exists(key: cli)]
    if let model = agent.localModel { needed.append(.exists(key: modelLabel(for: model))) }
    for constraint in needed where !spec.constraints.contains(constraint) {
      spec.constraints.append(constraint)
    }
    if let resumeNode { spec.node = resumeNode }
    return spec
  }

  /// Why no node can take an agent task, when none has what it needs; `nil` when some node does.
  public static func unplaceable(_ spec: TaskSpec, nodeLabels: some Sequence<[String: String]>)
    -> String?
  {
    guard let agent = spec.agent else { return nil }
    let cli = resource(for: agent.name)
    let model = agent.localModel.map(modelLabel(for:))
    var cliSomewhere = false
    for labels in nodeLabels where labels[cli] != nil {
      cliSomewhere = true
      if model.map({ labels[$0] != nil }) ?? true { return nil }
    }
    if !cliSomewhere {
      return "waiting for a node with agent CLI '\(agent.name)': no node reports it (orchion nodes shows each node's AGENTS)"
    }
    return "waiting for a node with agent CLI '\(agent.name)' serving model '\(agent.localModel ?? "")' (label \(model ?? "")): none has both"
  }
}
