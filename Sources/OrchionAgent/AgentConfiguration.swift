public import OrchionClient
public import OrchionCore

/// How an agent joins and what it offers.
public struct AgentConfiguration: Sendable {
  /// The orchestrator to dial.
  public var server: ServerAddress
  /// Other orchestrators of the same cluster (sharing one store): the agent dials whichever
  /// of ``server`` and these leads, and follows the lead when it moves.
  public var otherServers: [ServerAddress] = []
  /// The node ID to register as; `nil` uses the stable ID kept in ``dataDirectory``.
  public var nodeID: NodeID?
  /// Extra labels, on top of the probed `orchion.io/*` facts.
  public var labels: [String: String]
  /// Named countable resources this node offers, e.g. `tool/claude` = 4.
  public var extendedResources: [String: Int64] = [:]
  /// Where the agent keeps its node ID.
  public var dataDirectory: String
  /// Concurrent tasks; `nil` for the number of CPUs.
  public var slots: Int32?
  /// Time a task gets between SIGTERM and SIGKILL when stopped or timed out.
  public var killGrace: Duration
  /// Unacknowledged output the agent holds before it stops reading task pipes (back-pressure).
  public var maxBufferedOutputBytes: Int
  /// Longest wait between reconnection attempts.
  public var maxReconnectDelay: Duration
  /// Token presented on every RPC (`authorization: Bearer`), if any.
  public var token: String?
  /// How to secure the connection; `nil` for plaintext.
  public var tls: ClientTLS?
  /// The user tasks run as; `nil`: the agent's own (see the README's Security model).
  public var taskUser: TaskUser?
  /// Whether the agent looks for agent CLIs and GPU models (at start, then every
  /// ``detectionInterval``); `--no-detect` turns it off.
  public var detectsFacts = true
  /// Directories searched for agent CLIs before the agent's PATH (`--agent-path`).
  public var agentSearchPath: [String] = []
  /// How often the agent looks again.
  public var detectionInterval: Duration = .seconds(60)
  /// How long one version command (or `nvidia-smi`) may take before it is killed.
  public var detectionTimeout: Duration = .seconds(5)
  /// The most concurrent runs per agent CLI (`--max-agents claude=4`); a CLI not named is
  /// bounded by the node's slots only.
  public var maxAgents: [String: Int64] = [:]
  /// How long a finished attempt's workspace is kept once its result is safe on the
  /// orchestrator (`--workspace-ttl`).
  public var workspaceTTL: Duration = .seconds(24 * 3600)
  /// The most bytes all workspaces of this agent may take before the oldest finished ones go
  /// (`--workspace-budget`).
  public var workspaceBudget: Int64 = 20 << 30
  /// How often workspaces are checked against the policy.
  public var workspaceSweepInterval: Duration = .seconds(60)

  /// ``server`` and ``otherServers``.
  public var servers: [ServerAddress] { [server] + otherServers }

  /// An agent for `server`, with everything else at its default.
  public init(server: ServerAddress, dataDirectory: String) {
    self.server = server
    self.nodeID = nil
    self.labels = [:]
    self.dataDirectory = dataDirectory
    self.slots = nil
    self.killGrace = .seconds(10)
    self.maxBufferedOutputBytes = 8 << 20
    self.maxReconnectDelay = .seconds(10)
    self.token = nil
    self.tls = nil
    self.taskUser = nil
  }
}
