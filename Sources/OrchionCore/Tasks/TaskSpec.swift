/// What to run and what it needs.
public struct TaskSpec: Hashable, Sendable {
  /// A name for people; need not be unique.
  public var name: String
  /// argv: `command[0]` is the program, looked up on the node's PATH when it has no `/`.
  public var command: [String]
  /// Extra environment variables.
  public var environment: [String: String]
  /// Working directory on the node; empty for the attempt's own workspace.
  public var workingDirectory: String
  /// Resources reserved on the node while the task runs.
  public var resources: Resources
  /// Labels a node must carry, with these values.
  public var nodeSelector: [String: String]
  /// Wall time allowed for one attempt; `nil` for no limit.
  public var timeout: Duration?
  /// Attempts allowed before the task fails (at least 1).
  public var maxAttempts: Int32
  /// 0–100, higher first.
  public var priority: Int32
  /// How to choose among fitting nodes; `nil` for the server's default.
  public var strategy: PlacementStrategy?
  /// Label rules a node must satisfy, besides `nodeSelector`.
  public var constraints: [LabelConstraint]
  /// Whether a higher-priority task may evict this one.
  public var preemptible: Bool
  /// Which failures retry, and after how long.
  public var retry: RetryPolicy
  /// Keep running when the agent loses the orchestrator long enough for the task to be given to
  /// another node (duplicates must be harmless).
  public var surviveDisconnect: Bool
  /// Environment variables whose values are secrets, by secret name (only names are kept).
  public var secretEnvironment: [String: String] = [:]
  /// A coding agent to run headless; Orchion built `command` from it.
  public var agent: AgentRun?
  /// The one node the task may run on, if any.
  public var node: NodeID?

  /// The priority of a task that does not say.
  public static let defaultPriority: Int32 = 50

  /// Creates a spec.
  public init(
    name: String = "",
    command: [String],
    environment: [String: String] = [:],
    workingDirectory: String = "",
    resources: Resources = .zero,
    nodeSelector: [String: String] = [:],
    timeout: Duration? = nil,
    maxAttempts: Int32 = 1,
    priority: Int32 = TaskSpec.defaultPriority,
    strategy: PlacementStrategy? = nil,
    constraints: [LabelConstraint] = [],
    preemptible: Bool = false,
    retry: RetryPolicy = RetryPolicy(),
    surviveDisconnect: Bool = false
  ) {
    self.name = name
    self.command = command
    self.environment = environment
    self.workingDirectory = workingDirectory
    self.resources = resources
    self.nodeSelector = nodeSelector
    self.timeout = timeout
    self.maxAttempts = maxAttempts
    self.priority = priority
    self.strategy = strategy
    self.constraints = constraints
    self.preemptible = preemptible
    self.retry = retry
    self.surviveDisconnect = surviveDisconnect
  }
}
