import Logging
import OrchionCore
import OrchionTestSupport
import ServiceLifecycle
import Testing

@testable import OrchionServer

@Suite("HeartbeatMonitor")
struct HeartbeatMonitorTests {
  @Test("tick is a twentieth of the shorter period, between 10 ms and 1 s")
  func tick() {
    #expect(HeartbeatMonitor.tick(for: .defaults) == .seconds(1))
    #expect(
      HeartbeatMonitor.tick(
        for: .init(
          heartbeatTimeout: .milliseconds(500),
          lostAfter: .seconds(60),
          forgetAfter: .seconds(1)
        )
      )
        == .milliseconds(25)
    )
    #expect(
      HeartbeatMonitor.tick(
        for: .init(
          heartbeatTimeout: .milliseconds(20),
          lostAfter: .milliseconds(20),
          forgetAfter: .seconds(1)
        )
      )
        == .milliseconds(10)
    )
  }

  @Test("the running service marks a silent node INACTIVE then DISCONNECTED as the clock advances")
  func serviceExpires() async throws {
    let harness = try ClusterHarness(
      nodes: .init(
        heartbeatTimeout: .seconds(30),
        lostAfter: .seconds(60),
        forgetAfter: .seconds(3600)
      )
    )
    let clock = harness.clock
    let cluster = harness.cluster
    let id = try cluster.register(NodeRegistration()).node.id
    let monitor = HeartbeatMonitor(
      cluster: cluster,
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    let group = ServiceGroup(
      configuration: .init(
        services: [monitor],
        logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
      )
    )
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }

      // Step through time one tick at a time, as a real clock would.
      func advance(_ total: Duration) async throws {
        var elapsed = Duration.zero
        while elapsed < total {
          try await clock.waitForSleepers(1)
          clock.advance(by: .seconds(1))
          elapsed += .seconds(1)
        }
        try await clock.waitForSleepers(1)  // the monitor has processed the last tick
      }

      try await advance(.seconds(29))
      #expect(try cluster.node(id).status == .active)
      try await advance(.seconds(1))
      #expect(try cluster.node(id).status == .inactive)
      try await advance(.seconds(59))
      #expect(try cluster.node(id).status == .inactive)
      try await advance(.seconds(1))
      #expect(try cluster.node(id).status == .disconnected)

      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
    }
  }
}
