import CoreMetrics

import OrchionCore
import Synchronization

/// The orchestrator's instruments, made once from the metrics factory it was given (a
/// Prometheus registry in `orchion server`, nothing by default), so the hot paths increment a
/// handle instead of looking a metric up by name.
final class ServerMetrics: Sendable {
  let submissions: Counter
  let placements: Counter
  let heartbeats: Counter
  let heartbeatHandling: CoreMetrics.Timer
  let schedulingPass: CoreMetrics.Timer
  let journalCommit: CoreMetrics.Timer
  let journalBatch: Recorder
  let routerAccepted: Counter
  let routerDelivered: Counter
  let routerRedelivered: Counter
  private let attempts: [AttemptOutcome: Counter]
  private let factory: any MetricsFactory
  private let rpcs = Mutex<[RPCKey: RPCInstruments]>([:])

  struct RPCInstruments: Sendable {
    var count: Counter
    var duration: CoreMetrics.Timer
  }

  private struct RPCKey: Hashable, Sendable {
    var method: String
    var code: String
  }

  /// Most distinct (method, code) pairs instrumented: methods are fixed, codes are 17, so
  /// this is never reached by real calls; it bounds what a caller inventing methods can cost.
  static let maxRPCSeries = 2_048

  init(factory: any MetricsFactory) {
    self.factory = factory
    func counter(_ name: String, _ dimensions: [(String, String)] = []) -> Counter {
      Counter(label: name, dimensions: dimensions, factory: factory)
    }
    func timer(_ name: String) -> CoreMetrics.Timer {
      CoreMetrics.Timer(label: name, dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
    }
    submissions = counter(MetricCatalog.taskSubmissions)
    placements = counter(MetricCatalog.placements)
    heartbeats = counter(MetricCatalog.heartbeats)
    heartbeatHandling = timer(MetricCatalog.heartbeatHandling)
    schedulingPass = timer(MetricCatalog.schedulingPass)
    journalCommit = timer(MetricCatalog.journalCommit)
    journalBatch = Recorder(label: MetricCatalog.journalBatch, dimensions: [], aggregate: true, factory: factory)
    routerAccepted = counter(MetricCatalog.routerAccepted)
    routerDelivered = counter(MetricCatalog.routerDelivered)
    routerRedelivered = counter(MetricCatalog.routerRedelivered)
    var attempts: [AttemptOutcome: Counter] = [:]
    for outcome in AttemptOutcome.allCases where outcome != .active {
      attempts[outcome] = counter(MetricCatalog.attempts, [("outcome", outcome.rawValue)])
    }
    self.attempts = attempts
  }

  /// No metrics: every instrument discards what it is given.
  static let none = ServerMetrics(factory: NOOPMetricsHandler.instance)

  /// Counts an attempt that ended as `outcome`.
  func attemptEnded(_ outcome: AttemptOutcome) {
    attempts[outcome]?.increment()
  }

  /// The instruments of `method` (`package.Service/Method`) answered with `code`.
  func rpc(_ method: String, code: String) -> RPCInstruments? {
    let key = RPCKey(method: method, code: code)
    return rpcs.withLock { rpcs in
      if let existing = rpcs[key] { return existing }
      guard rpcs.count < Self.maxRPCSeries else { return nil }
      let (service, name) = Self.split(method)
      let dimensions = [("service", service), ("method", name), ("code", code)]
      let made = RPCInstruments(
        count: Counter(label: MetricCatalog.rpcs, dimensions: dimensions, factory: factory),
        duration: CoreMetrics.Timer(
          label: MetricCatalog.rpcDuration,
          dimensions: dimensions,
          preferredDisplayUnit: .seconds,
          factory: factory
        )
      )
      rpcs[key] = made
      return made
    }
  }

  private static func split(_ method: String) -> (String, String) {
    guard let slash = method.lastIndex(of: "/") else { return (method, "") }
    return (String(method[..<slash]), String(method[method.index(after: slash)...]))
  }
}

extension CoreMetrics.Timer {
  /// Records `duration`, saturating at what nanoseconds in an Int64 can say (292 years).
  func record(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    recordNanoseconds(
      nanoseconds.overflow ? .max : nanoseconds.partialValue &+ attoseconds / 1_000_000_000
    )
  }
}
