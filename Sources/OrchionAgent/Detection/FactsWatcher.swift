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
  /// The labels the agent has without detection (probed and configured).
  let baseLabels: [String: String]
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
          ]
        )
        source.update { Self.apply(facts, baseLabels: baseLabels, to: &$0) }
        last = facts
      }
      do {
        try await clock.sleep(for: interval)
      } catch {
        return
      }
    }
  }

  /// `request` with `facts` in it.
  static func apply(
    _ facts: DetectedFacts,
    baseLabels: [String: String],
    to request: inout Orchion_V1_RegisterNodeRequest
  ) {
    request.agents = facts.agents.map(Orchion_V1_AgentCLI.init)
    // Not the agent.orchion.io/ labels: the orchestrator derives those from the list.
    request.labels = facts.gpus.labels.merging(baseLabels) { $1 }
    if !facts.gpus.devices.isEmpty {
      request.resources.gpus = Int32(clamping: facts.gpus.devices.count)
    }
  }
}
