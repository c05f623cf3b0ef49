import Logging
import OrchionAPI
import OrchionCore
import OrchionWire

/// Looks at the machine when the agent starts and every ``interval`` after, and puts what it
/// finds into the registration (agents, GPU labels and count), which the connection sends
/// again when it changed.
struct FactsWatcher: Sendable {
  let detector: FactsDetector
  let source: RegistrationSource
  /// What the registration holds without detection.
  let base: Base
  let interval: Duration
  let clock: any WallClock
  let logger: Logger

  /// Looks until cancelled.
  func run() async {
    var last: DetectedFacts?
    while !Task.isCancelled {
      let facts = await detector.detect()
      if facts != last {
        logger.info(
          "detected on this machine",
          metadata: [
            "orchion.agents": "\(facts.agents.map { "\($0.name) \($0.version)" }.joined(separator: ", "))",
            "orchion.gpus": "\(facts.gpus.devices.map(\.model).joined(separator: ", "))",
            "orchion.models": "\(facts.models.names.joined(separator: ", "))",
          ]
        )
        source.update { Self.apply(facts, base: base, to: &$0) }
        last = facts
      }
      do {
        try await clock.sleep(for: interval)
      } catch {
        return
      }
    }
  }

  /// The registration's parts detection adds to.
  struct Base: Sendable {
    /// Labels probed and configured.
    var labels: [String: String]
    /// Named resources configured (`--resource`).
    var extendedResources: [String: Int64]
    /// The node's slots: the most runs of a CLI without a cap of its own.
    var slots: Int64
    /// `--max-agents`: the most runs per CLI.
    var maxAgents: [String: Int64]
  }

  /// `request` with `facts` in it.
  static func apply(
    _ facts: DetectedFacts,
    base: Base,
    to request: inout Orchion_V1_RegisterNodeRequest
  ) {
    request.agents = facts.agents.map(Orchion_V1_AgentCLI.init)
    // Not the agent.orchion.io/ labels: the orchestrator derives those from the list.
    // Configured labels first; detected ones only while the registration stays within the
    // label limit (a refused registration would keep the node out altogether).
    var labels = base.labels
    let detected = facts.gpus.labels.sorted { $0.key < $1.key }
      + facts.models.labels.sorted { $0.key < $1.key }
    for (key, value) in detected where labels[key] == nil {
      guard labels.count < StringMapLimits.labels.maxEntries else { break }
      labels[key] = value
    }
    request.labels = labels
    // Each CLI found is a resource an agent task of it takes one of: as many as --max-agents
    // allows, else as many as the node has slots.
    var extended = base.extendedResources.filter { !$0.key.hasPrefix(AgentCLI.labelPrefix) }
    for agent in facts.agents {
      extended[AgentPlacement.resource(for: agent.name)] = base.maxAgents[agent.name] ?? base.slots
    }
    request.resources.extended = extended
    if !facts.gpus.devices.isEmpty {
      request.resources.gpus = Int32(clamping: facts.gpus.devices.count)
    }
  }
}
