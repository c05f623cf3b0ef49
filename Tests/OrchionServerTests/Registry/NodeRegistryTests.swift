import OrchionCore
import OrchionServer
import OrchionTestSupport
import Synchronization
import Testing

@Suite("NodeRegistry")
struct NodeRegistryTests {
  @Test("2,000 parallel registrations give exactly 2,000 nodes with distinct generated IDs")
  func parallelRegistrations() async throws {
    let registry = NodeRegistry(configuration: .defaults, clock: ManualClock())
    let ids = try await withThrowingTaskGroup(of: NodeID.self) { group in
      for index in 0..<2_000 {
        group.addTask {
          // Half ask for an ID, half let the server assign one.
          let id = index.isMultiple(of: 2) ? try NodeID(validating: "node-\(index)") : nil
          return try registry.register(NodeRegistration(id: id, address: "10.0.0.\(index % 250)"))
            .node.id
        }
      }
      return try await group.reduce(into: Set<NodeID>()) { $0.insert($1) }
    }
    #expect(ids.count == 2_000)
    #expect(registry.count == 2_000)
    #expect(registry.nodes().count == 2_000)
  }

  @Test("parallel re-registrations of one ID keep exactly one node")
  func parallelReRegistrations() async throws {
    let registry = NodeRegistry(configuration: .defaults, clock: ManualClock())
    let id = try NodeID(validating: "same")
    try await withThrowingTaskGroup(of: Void.self) { group in
      for index in 0..<500 {
        group.addTask { _ = try registry.register(NodeRegistration(id: id, address: "a\(index)")) }
      }
      try await group.waitForAll()
    }
    #expect(registry.count == 1)
  }

  @Test("invalid registrations are refused and change nothing")
  func invalidRegistration() throws {
    let registry = NodeRegistry(configuration: .defaults, clock: ManualClock())
    #expect(throws: OrchionError.self) {
      try registry.register(NodeRegistration(labels: ["bad key": "v"]))
    }
    #expect(registry.count == 0)
  }

  @Test("observers hear every transition, in order")
  func observers() throws {
    let clock = ManualClock()
    let registry = NodeRegistry(
      configuration: .init(
        heartbeatTimeout: .seconds(30),
        lostAfter: .seconds(60),
        forgetAfter: .seconds(600)
      ),
      clock: clock
    )
    let seen = Mutex<[NodeTransition.Reason]>([])
    registry.observe { transitions in seen.withLock { $0 += transitions.map(\.reason) } }
    let id = try registry.register(NodeRegistration()).node.id
    clock.advance(by: .seconds(30))
    registry.expireOverdue()
    _ = try registry.heartbeat(id)
    _ = try registry.leave(id)
    clock.advance(by: .seconds(600))
    registry.expireOverdue()
    let other = try registry.register(NodeRegistration()).node.id
    _ = try registry.remove(other)
    #expect(
      seen.withLock { $0 } == [
        .registered, .heartbeatTimeout, .heartbeat, .left, .forgotten, .registered, .unregistered,
      ]
    )
    #expect(registry.nodes().isEmpty)
  }
}
