import Logging
import OrchionCore
import ServiceLifecycle

/// The service that turns silence into status changes: ACTIVE → INACTIVE → DISCONNECTED.
///
/// It wakes every ``tick(for:)`` on the cluster's clock and applies only the deadlines that are
/// due (see ``NodeTable``), so a tick costs the number of expiring nodes, not the number of nodes.
struct HeartbeatMonitor: Service {
  private let cluster: Cluster
  private let logger: Logger
  private let tick: Duration

  /// Creates the monitor.
  /// - Parameters:
  ///   - cluster: The cluster whose nodes expire.
  ///   - logger: Where status changes are logged.
  init(cluster: Cluster, logger: Logger) {
    self.cluster = cluster
    self.logger = logger
    self.tick = Self.tick(for: cluster.configuration)
  }

  /// How often the monitor wakes: a twentieth of the shorter period, between 10 ms and 1 s.
  ///
  /// A node is then marked at most one tick after its deadline, well within the promised 10% of
  /// its timeout (or 100 ms for very short timeouts).
  static func tick(for configuration: NodeTable.Configuration) -> Duration {
    let shortest = min(configuration.heartbeatTimeout, configuration.lostAfter)
    return min(max(shortest / 20, .milliseconds(10)), .seconds(1))
  }

  func run() async throws {
    await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        do {
          try await cluster.clock.sleep(for: tick)
        } catch {
          return  // cancelled: the service is stopping
        }
        for transition in cluster.expireOverdue() { log(transition) }
      }
    }
  }

  private func log(_ transition: NodeTransition) {
    let level: Logger.Level = transition.reason == .forgotten ? .info : .warning
    logger.log(
      level: level,
      "node status changed",
      metadata: [
        LoggingKeys.nodeID: "\(transition.node.id)",
        LoggingKeys.nodeStatus: "\(transition.node.status)",
        LoggingKeys.previousStatus: "\(transition.from.map(String.init(describing:)) ?? "none")",
        LoggingKeys.reason: "\(transition.reason)",
      ]
    )
  }
}
