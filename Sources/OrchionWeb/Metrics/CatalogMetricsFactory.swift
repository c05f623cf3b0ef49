public import CoreMetrics
public import Prometheus

/// A swift-metrics factory over a Prometheus registry that gives every metric its help text
/// from ``MetricCatalog`` and the histogram buckets that fit its unit. (swift-prometheus's own
/// factory registers every metric without help, and a registry traps when one name is
/// registered with two help texts: going through one catalog keeps them equal.)
public struct CatalogMetricsFactory: MetricsFactory {
  public let registry: PrometheusCollectorRegistry
  private let help: [String: String]

  /// Buckets of latencies, from 100 µs (a heartbeat) to 30 s (a commit to a struggling store).
  static let durationBuckets: [Duration] = [
    .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
    .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
    .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
    .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
  ]
  /// Buckets of counts (changes per commit).
  static let valueBuckets: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 10_000]

  public init(registry: PrometheusCollectorRegistry, help: [String: String]) {
    self.registry = registry
    self.help = help
  }

  private func descriptor(_ label: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? "Orchion metric \(label).")
  }

  public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
    registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
  }

  public func makeFloatingPointCounter(label: String, dimensions: [(String, String)])
    -> any FloatingPointCounterHandler
  {
    registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
  }

  public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool)
    -> any RecorderHandler
  {
    guard aggregate else {
      return registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }
    return registry.makeValueHistogram(
      descriptor: descriptor(label),
      labels: dimensions,
      buckets: Self.valueBuckets
    )
  }

  public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
    registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
  }

  public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
    registry.makeDurationHistogram(
      descriptor: descriptor(label),
      labels: dimensions,
      buckets: Self.durationBuckets
    )
  }

  public func destroyCounter(_ handler: any CounterHandler) {
    if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
  }

  public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
    if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
  }

  public func destroyRecorder(_ handler: any RecorderHandler) {
    if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
  }

  public func destroyMeter(_ handler: any MeterHandler) {
    if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
  }

  public func destroyTimer(_ handler: any TimerHandler) {
    if let histogram = handler as? DurationHistogram {
      registry.unregisterDurationHistogram(histogram)
    }
  }
}
