import ArgumentParser
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// `orchion nodes`: list the nodes the orchestrator knows.
struct NodesCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "nodes",
    abstract: "List nodes and their status."
  )

  @OptionGroup var client: ClientOptions

  @Option(help: "Only nodes with this status: active, inactive or disconnected.")
  var status: StatusFilter?

  @Option(name: [.short, .customLong("output")], help: "Output format: table or json.")
  var output: OutputFormat = .table

  enum StatusFilter: String, ExpressibleByArgument, CaseIterable {
    case active, inactive, disconnected

    var proto: Orchion_V1_NodeStatus {
      switch self {
      case .active: .active
      case .inactive: .inactive
      case .disconnected: .disconnected
      }
    }
  }

  func run() async throws {
    let request = Orchion_V1_ListNodesRequest.with { $0.status = status?.proto ?? .unspecified }
    let response = try await CLIErrors.reporting {
      try await client.connect { client in
        try await client.nodes.listNodes(request)
      }
    }
    switch output {
    case .json:
      Console.line(try response.jsonString())
    case .table:
      var table = TextTable(columns: [
        "ID", "STATUS", "VERSION", "ADDRESS", "CPU", "MEMORY", "GPUS", "TASKS", "AGENTS",
        "LAST SEEN",
      ])
      let now = SystemClock().now
      for node in response.nodes {
        let lastSeen = UTCInstant(
          nanosecondsSinceEpoch: node.lastHeartbeat.seconds * 1_000_000_000
            + Int64(node.lastHeartbeat.nanos)
        )
        table.append([
          node.id, node.schedulingLabel, node.agentVersion.isEmpty ? "-" : node.agentVersion,
          node.address,
          Quantity.cpu(node.resources.cpuMillis), Quantity.bytes(node.resources.memoryBytes),
          "\(node.resources.gpus)", "\(node.runningTasks)", node.agentsLabel,
          DurationFormat.format(.seconds(lastSeen.duration(to: now).components.seconds)) + " ago",
        ])
      }
      Console.write(table.render())
    }
  }
}

extension Orchion_V1_Node {
  /// The agent CLIs as `claude 1.0.58,codex 0.20.0`; `-` for none.
  var agentsLabel: String {
    agents.isEmpty ? "-" : agents.map { "\($0.name) \($0.version)" }.joined(separator: ",")
  }

  /// The status, with `,DRAINING` or `,CORDONED` when the node takes no new work.
  var schedulingLabel: String {
    if hasDrainDeadline { return status.label + ",DRAINING" }
    return cordoned ? status.label + ",CORDONED" : status.label
  }
}

extension Orchion_V1_NodeStatus {
  var label: String {
    switch self {
    case .active: "ACTIVE"
    case .inactive: "INACTIVE"
    case .disconnected: "DISCONNECTED"
    case .unspecified, .UNRECOGNIZED: "UNKNOWN"
    }
  }
}
