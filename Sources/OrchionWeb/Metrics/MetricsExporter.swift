import OrchionCore
public import OrchionServer
public import Prometheus
import Synchronization

/// `/metrics`: what the orchestrator counted as it worked (its swift-metrics instruments, in
/// ``registry``), plus what is read when scraped — nodes by status, tasks by state, queue
/// depth, leadership, build and process figures — in the Prometheus text format.
public final class MetricsExporter: Sendable {
  /// The registry the orchestrator's instruments write to.
  public let registry: PrometheusCollectorRegistry
  /// The factory to give the orchestrator (``Orchestrator/Configuration/metricsFactory``).
  public let factory: CatalogMetricsFactory
  private let nodes: [NodeStatus: Gauge]
  private let tasks: [TaskState: Gauge]
  private let queueDepth: Gauge
  private let leader: Gauge
  private let process: [String: Gauge]
  private let lastCPU = Mutex<Double>(0)
  private let cpu: Prometheus.Counter

  public init() {
    let registry = PrometheusCollectorRegistry()
    self.registry = registry
    factory = CatalogMetricsFactory(registry: registry, help: MetricCatalog.help)
    func gauge(_ name: String, _ labels: [(String, String)] = []) -> Gauge {
      registry.makeGauge(
        descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: MetricCatalog.help[name] ?? name),
        labels: labels
      )
    }
    var nodes: [NodeStatus: Gauge] = [:]
    for status in NodeStatus.allCases {
      nodes[status] = gauge(MetricCatalog.nodes, [("status", status.description.lowercased())])
    }
    self.nodes = nodes
    var tasks: [TaskState: Gauge] = [:]
    for state in TaskState.allCases {
      tasks[state] = gauge(MetricCatalog.tasks, [("state", state.description.lowercased())])
    }
    self.tasks = tasks
    queueDepth = gauge(MetricCatalog.queueDepth)
    leader = gauge(MetricCatalog.leader)
    gauge(
      MetricCatalog.buildInfo,
      [("version", OrchionVersion.current), ("agent_protocol", "\(OrchionVersion.agentProtocol)")]
    ).set(to: 1)
    var process: [String: Gauge] = [:]
    for name in [
      MetricCatalog.processRSS, MetricCatalog.processOpenFDs, MetricCatalog.processMaxFDs,
      MetricCatalog.processStart,
    ] {
      process[name] = gauge(name)
    }
    self.process = process
    cpu = registry.makeCounter(
      descriptor: MetricNameDescriptor(
        metricName: MetricCatalog.processCPU,
        unitName: "",
        helpText: MetricCatalog.help[MetricCatalog.processCPU] ?? ""
      )
    )
    // Every instrument the orchestrator records is made when it starts; making the RPC and
    // attempt families here too would only duplicate them.
  }

  /// The exposition, with the scrape-time figures read from `api` now.
  public func render(api: InProcessAPI, isLeader: Bool) -> [UInt8] {
    let summary = api.summary()
    for (status, gauge) in nodes { gauge.set(to: Double(summary.nodesByStatus[status, default: 0])) }
    for (state, gauge) in tasks { gauge.set(to: Double(summary.tasksByState[state, default: 0])) }
    queueDepth.set(to: Double(summary.queueDepth))
    leader.set(to: isLeader ? 1 : 0)
    let stats = ProcessStats.read()
    if let value = stats.residentBytes { process[MetricCatalog.processRSS]?.set(to: value) }
    if let value = stats.openDescriptors { process[MetricCatalog.processOpenFDs]?.set(to: value) }
    if let value = stats.maxDescriptors { process[MetricCatalog.processMaxFDs]?.set(to: value) }
    if let value = stats.startTimeSeconds { process[MetricCatalog.processStart]?.set(to: value) }
    if let seconds = stats.cpuSeconds {
      // A counter only goes up: add what was spent since the last scrape.
      let delta = lastCPU.withLock { last -> Double in
        defer { last = max(last, seconds) }
        return max(0, seconds - last)
      }
      if delta > 0 { cpu.increment(by: delta) }
    }
    return registry.emitToBuffer()
  }
}
