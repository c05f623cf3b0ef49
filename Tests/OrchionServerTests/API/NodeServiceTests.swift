import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import SwiftProtobuf
import Testing

@Suite("NodeService over gRPC")
struct NodeServiceTests {
  @Test("register → get → list → heartbeat → unregister, every field round-trips")
  func lifecycle() async throws {
    try await withOrchestrator { _, client in
      let registered = try await client.nodes.registerNode(
        .with {
          $0.nodeID = "worker-1"
          $0.address = "10.1.2.3:7000"
          $0.metadata = ["os": "linux"]
          $0.labels = ["gpu": "a100", "orchion.io/arch": "x86_64"]
          $0.resources = .with {
            $0.cpuMillis = 8000
            $0.memoryBytes = 32 << 30
            $0.gpus = 2
            $0.extended = ["tool/claude": 4]
          }
          $0.slots = 8
        }
      )
      #expect(registered.created)
      #expect(registered.heartbeatInterval.seconds == 10)
      let node = registered.node
      #expect(node.id == "worker-1")
      #expect(node.status == .active)
      #expect(node.address == "10.1.2.3:7000")
      #expect(node.metadata == ["os": "linux"])
      #expect(node.labels["gpu"] == "a100")
      #expect(node.resources.gpus == 2)
      #expect(node.resources.extended == ["tool/claude": 4])
      #expect(node.slots == 8)
      #expect(node.registeredAt.seconds > 1_700_000_000)
      #expect(node.lastHeartbeat == node.registeredAt)

      let fetched = try await client.nodes.getNode(.with { $0.nodeID = "worker-1" }).node
      #expect(fetched == node)

      let heartbeat = try await client.nodes.heartbeat(.with { $0.nodeID = "worker-1" })
      #expect(heartbeat.status == .active)

      let all = try await client.nodes.listNodes(.init()).nodes
      #expect(all.map(\.id) == ["worker-1"])

      // UnregisterNode removes the node, as the original contract says.
      let removed = try await client.nodes.unregisterNode(.with { $0.nodeID = "worker-1" }).node
      #expect(removed.id == "worker-1")
      #expect(try await client.nodes.listNodes(.init()).nodes.isEmpty)
      _ = await expectRPCError(.notFound) {
        try await client.nodes.getNode(.with { $0.nodeID = "worker-1" })
      }
    }
  }

  @Test("an empty node_id gets a server-assigned one; re-registering updates the same node")
  func assignedAndReRegistered() async throws {
    try await withOrchestrator { _, client in
      let first = try await client.nodes.registerNode(.with { $0.address = "a" })
      #expect(first.node.id.hasPrefix("node-"))
      let second = try await client.nodes.registerNode(
        .with {
          $0.nodeID = first.node.id
          $0.address = "b"
        }
      )
      #expect(!second.created)
      #expect(second.node.address == "b")
      #expect(second.node.registeredAt == first.node.registeredAt)
      #expect(try await client.nodes.listNodes(.init()).nodes.count == 1)
    }
  }

  @Test("errors carry the right code and say what is wrong")
  func errors() async throws {
    try await withOrchestrator { _, client in
      var message = await expectRPCError(.notFound) {
        try await client.nodes.heartbeat(.with { $0.nodeID = "ghost" })
      }
      #expect(message.contains("ghost"))
      message = await expectRPCError(.notFound) {
        try await client.nodes.unregisterNode(.with { $0.nodeID = "ghost" })
      }
      message = await expectRPCError(.notFound) {
        try await client.nodes.getNode(.with { $0.nodeID = "ghost" })
      }
      message = await expectRPCError(.invalidArgument) {
        try await client.nodes.heartbeat(.with { $0.nodeID = "" })
      }
      #expect(message.contains("node_id"))
      message = await expectRPCError(.invalidArgument) {
        try await client.nodes.registerNode(.with { $0.nodeID = "bad id\u{1}" })
      }
      #expect(message.contains("node_id"))
      message = await expectRPCError(.invalidArgument) {
        try await client.nodes.registerNode(.with { $0.resources.cpuMillis = -5 })
      }
      #expect(message.contains("resources.cpu_millis"))
      message = await expectRPCError(.invalidArgument) {
        try await client.nodes.listNodes(.with { $0.status = .UNRECOGNIZED(42) })
      }
      #expect(message.contains("status"))

      _ = try await client.nodes.registerNode(.with { $0.nodeID = "gone" })
      _ = try await client.nodes.unregisterNode(.with { $0.nodeID = "gone" })
      message = await expectRPCError(.notFound) {
        try await client.nodes.heartbeat(.with { $0.nodeID = "gone" })
      }
      #expect(message.contains("gone"))
      _ = await expectRPCError(.notFound) {
        try await client.nodes.unregisterNode(.with { $0.nodeID = "gone" })
      }
      // Nothing above left a node behind.
      #expect(try await client.nodes.listNodes(.init()).nodes.isEmpty)
    }
  }

  @Test("the heartbeat timeout end to end: silent → INACTIVE → DISCONNECTED; a heartbeat revives")
  func heartbeatTimeoutEndToEnd() async throws {
    // On a manual clock: the heartbeat monitor sleeps on it, so only the clock decides when a
    // node falls silent. (On the system clock a CPU-heavy test in the same process once held
    // the monitor back past the test's patience.)
    let clock = ManualClock()
    let configuration = Orchestrator.Configuration.testing.updating {
      $0.nodes.heartbeatTimeout = .seconds(2)
      $0.nodes.lostAfter = .seconds(5)
    }
    try await withOrchestrator(configuration: configuration, clock: clock) { _, client in
      let registered = clock.now
      _ = try await client.nodes.registerNode(.with { $0.nodeID = "quiet" })
      _ = try await client.nodes.registerNode(.with { $0.nodeID = "chatty" })

      func status(_ id: String) async throws -> Orchion_V1_NodeStatus {
        try await client.nodes.getNode(.with { $0.nodeID = id }).node.status
      }
      /// Moves time on by 200 ms with "chatty" heard first: it never falls silent. Each step
      /// wakes the monitor, however far behind it runs.
      func step() async throws {
        _ = try await client.nodes.heartbeat(.with { $0.nodeID = "chatty" })
        clock.advance(by: .milliseconds(200))
      }
      try await eventually(timeout: .seconds(30)) {
        try await step()
        return try await status("quiet") == .inactive
      }
      // Not before its timeout.
      #expect(registered.duration(to: clock.now) >= .seconds(2))
      let revived = clock.now
      _ = try await client.nodes.heartbeat(.with { $0.nodeID = "quiet" })
      #expect(try await status("quiet") == .active)
      try await eventually(timeout: .seconds(30)) {
        try await step()
        return try await status("quiet") == .disconnected
      }
      // Not before heartbeat timeout + lost-after of silence.
      #expect(revived.duration(to: clock.now) >= .seconds(7))
      #expect(try await status("chatty") == .active)
    }
  }
}

extension Orchestrator.Configuration {
  func updating(_ update: (inout Self) -> Void) -> Self {
    var copy = self
    update(&copy)
    return copy
  }
}
