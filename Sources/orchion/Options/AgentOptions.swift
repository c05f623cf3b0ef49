import ArgumentParser
import Foundation
import OrchionAgent
import OrchionCommandLine
import OrchionCore

/// The agent's flags, shared by `orchion agent` and `orchion up`.
struct AgentOptions: ParsableArguments {
  @Option(help: "Node ID (default: a stable ID kept in the agent's data directory).")
  var id: String?

  @Option(
    name: .customLong("label"),
    help: "A label k=v for tasks to select this node by (repeatable)."
  )
  var labels: [KeyValue] = []

  @Option(
    name: .customLong("resource"),
    help: "A named countable resource NAME=N this node offers, e.g. tool/claude=4 (repeatable)."
  )
  var resources: [KeyValue] = []

  @Option(help: "Tasks run at once (default: the number of CPUs).")
  var slots: Int32?

  @Option(help: "Time a stopped or timed-out task gets between SIGTERM and SIGKILL.")
  var killGrace = DurationArgument(.seconds(10))

  @Option(
    help:
      "Run tasks as this OS user (the agent must run as root), so they cannot read the agent's files or look into its processes."
  )
  var taskUser: String?

  @Flag(help: "Do not look for agent CLIs (claude, codex, gemini…) and GPU models on this machine.")
  var noDetect = false

  @Option(
    name: .customLong("agent-path"),
    help: "A directory searched for agent CLIs before PATH (repeatable)."
  )
  var agentPaths: [String] = []

  @Option(
    name: .customLong("max-agents"),
    help: "The most runs of one agent CLI at once, NAME=N, e.g. claude=4 (repeatable; default: slots)."
  )
  var maxAgents: [KeyValue] = []

  @Option(
    name: .customLong("workspace-ttl"),
    help: "How long a finished task's workspace is kept once its result is safe (e.g. 24h)."
  )
  var workspaceTTL = DurationArgument(.seconds(24 * 3600))

  @Option(
    name: .customLong("workspace-budget"),
    help: "The most disk all workspaces may take before the oldest finished ones go (e.g. 20Gi)."
  )
  var workspaceBudget = "20Gi"

  func validate() throws {
    guard QuantityParser.bytes(workspaceBudget) != nil else {
      throw ValidationError("--workspace-budget: expected e.g. 20Gi or 500M")
    }
    for cap in maxAgents {
      guard AgentCLI.isValidName(cap.key) else {
        throw ValidationError("--max-agents \(cap.key): not an agent CLI name (a-z, 0-9, '-')")
      }
      guard let amount = Int64(cap.value), amount >= 0 else {
        throw ValidationError("--max-agents \(cap.key): the amount must be a whole number >= 0")
      }
    }

    if let slots, slots < 1 { throw ValidationError("--slots must be at least 1") }
    for resource in resources where Int64(resource.value).map({ $0 < 0 }) ?? true {
      throw ValidationError("--resource \(resource.key): the amount must be a whole number >= 0")
    }
    do {
      try Resources(extended: extendedResources).validate(field: "--resource")
    } catch {
      throw ValidationError(error.message)
    }
    if let id {
      do {
        _ = try NodeID(validating: id)
      } catch {
        throw ValidationError("--id: \(error.message)")
      }
    }
  }

  /// `--resource` values as amounts by name (malformed ones are left to `validate`).
  private var extendedResources: [String: Int64] {
    Dictionary(
      resources.compactMap { resource in Int64(resource.value).map { (resource.key, $0) } }
    ) { $1 }
  }

  /// The agent configuration these flags describe.
  func configuration(server: ServerAddress, dataDirectory: String) throws -> AgentConfiguration {
    var configuration = AgentConfiguration(server: server, dataDirectory: dataDirectory)
    configuration.nodeID = try id.map { try NodeID(validating: $0) }
    configuration.labels = Dictionary(labels.map { ($0.key, $0.value) }) { $1 }
    configuration.slots = slots
    configuration.extendedResources = extendedResources
    configuration.killGrace = killGrace.duration
    configuration.detectsFacts = !noDetect
    configuration.workspaceTTL = workspaceTTL.duration
    configuration.workspaceBudget = QuantityParser.bytes(workspaceBudget) ?? configuration.workspaceBudget
    configuration.maxAgents = Dictionary(
      maxAgents.compactMap { cap in Int64(cap.value).map { (cap.key, $0) } }
    ) { $1 }
    // Relative to where the agent was started, as a shell would read them.
    configuration.agentSearchPath = agentPaths.map {
      URL(fileURLWithPath: $0).standardizedFileURL.path
    }
    if let taskUser {
      do {
        configuration.taskUser = try TaskUser(named: taskUser)
      } catch {
        throw ValidationError(error.message)
      }
    }
    return configuration
  }
}

/// A `key=value` flag value.
struct KeyValue: ExpressibleByArgument, Sendable {
  let key: String
  let value: String

  init?(argument: String) {
    guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
      return nil
    }
    key = String(argument[..<equals])
    value = String(argument[argument.index(after: equals)...])
  }
}
