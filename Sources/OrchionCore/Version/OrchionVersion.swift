/// Which Orchion this is, and which agents its orchestrator talks to.
public enum OrchionVersion {
  /// The release, as `orchion --version` prints it and `orchion nodes` shows each agent's.
  public static let current = "0.9.0"

  /// The agent stream's protocol this build speaks (`AgentHello.protocol`): raised when an
  /// orchestrator needs something of agents that older ones do not do.
  public static let agentProtocol: Int32 = 2

  /// The oldest agent protocol this orchestrator accepts. Protocol 2: agents parse agent CLI
  /// output into events and give each attempt its own workspace; an older agent would run
  /// agent tasks in a shared directory and report no events.
  public static let minimumAgentProtocol: Int32 = 2

  /// Longest version string a node may report, in bytes.
  public static let maxVersionBytes = 64
}
