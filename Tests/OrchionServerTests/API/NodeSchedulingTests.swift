import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCore
import OrchionServer
import OrchionTestSupport
import SwiftProtobuf
import Testing

@Suite("NodeService cordon, uncordon and drain over gRPC")
struct NodeSchedulingTests {
  @Test("cordon marks the node, drain sets a deadline, uncordon clears both; survive re-register")
  func cordonDrainUncordon() async throws {
    // A manual clock: deadlines are exact however slow the machine is.
    let clock = ManualClock()
    try await withOrchestrator(clock: clock) { _, client in
      _ = try await client.nodes.registerNode(.with { $0.nodeID = "n1" })
      let cordoned = try await client.nodes.cordonNode(.with { $0.nodeID = "n1" }).node
      #expect(cordoned.cordoned)
      #expect(!cordoned.hasDrainDeadline)
      // Re-registering (an agent reconnecting) keeps the operator's decision.
      _ = try await client.nodes.registerNode(.with { $0.nodeID = "n1" })
      #expect(try await client.nodes.getNode(.with { $0.nodeID = "n1" }).node.cordoned)

      let before = Int64(clock.now.nanosecondsSinceEpoch / 1_000_000_000)
      let draining = try await client.nodes.drainNode(
        .with {
          $0.nodeID = "n1"
          $0.deadline.seconds = 600
        }
      ).node
      #expect(draining.cordoned)
      #expect((before + 600...before + 600).contains(draining.drainDeadline.seconds))

      let defaulted = try await client.nodes.drainNode(.with { $0.nodeID = "n1" }).node
      #expect((before + 3600...before + 3600).contains(defaulted.drainDeadline.seconds))

      let uncordoned = try await client.nodes.uncordonNode(.with { $0.nodeID = "n1" }).node
      #expect(!uncordoned.cordoned)
      #expect(!uncordoned.hasDrainDeadline)
    }
  }

  @Test("unknown nodes are NOT_FOUND, bad IDs and negative deadlines INVALID_ARGUMENT")
  func errors() async throws {
    try await withOrchestrator { _, client in
      _ = await expectRPCError(.notFound) {
        try await client.nodes.cordonNode(.with { $0.nodeID = "ghost" })
      }
      _ = await expectRPCError(.notFound) {
        try await client.nodes.uncordonNode(.with { $0.nodeID = "ghost" })
      }
      _ = await expectRPCError(.notFound) {
        try await client.nodes.drainNode(.with { $0.nodeID = "ghost" })
      }
      _ = await expectRPCError(.invalidArgument) {
        try await client.nodes.cordonNode(.with { $0.nodeID = "bad id" })
      }
      _ = try await client.nodes.registerNode(.with { $0.nodeID = "n1" })
      let message = await expectRPCError(.invalidArgument) {
        try await client.nodes.drainNode(
          .with {
            $0.nodeID = "n1"
            $0.deadline.seconds = -1
          }
        )
      }
      #expect(message.contains("deadline"))
      // Nothing changed.
      #expect(try await !client.nodes.getNode(.with { $0.nodeID = "n1" }).node.cordoned)
    }
  }
}
