import Foundation
import OrchionCore
import OrchionServer
import OrchionTestSupport
import Synchronization
import Testing

@Suite("NodeRegistry delivery order")
struct NodeRegistryOrderingTests {
  /// What the observer heard, and a gate that holds its first call.
  final class Observed: Sendable {
    let statuses = Mutex<[NodeStatus]>([])
    let firstCallEntered = Mutex(false)
    let gateOpen = Mutex(false)
    let calls = Mutex(0)

    func observe(_ transitions: [NodeTransition]) {
      let first = calls.withLock { calls in
        calls += 1
        return calls == 1
      }
      if first {
        // Stands for the thread being descheduled between changing the table and telling
        // the dispatcher: on a loaded machine that happens.
        firstCallEntered.withLock { $0 = true }
        while !gateOpen.withLock({ $0 }) { usleep(1_000) }
      }
      statuses.withLock { $0 += transitions.map(\.node.status) }
    }
  }

  @Test(
    "a heartbeat expiry's DISCONNECTED and the re-registration right after it reach observers in the order the table made them"
  )
  func expiryThenReRegistration() async throws {
    let clock = ManualClock()
    let registry = NodeRegistry(
      configuration: .init(
        heartbeatTimeout: .seconds(1),
        lostAfter: .zero,
        forgetAfter: .seconds(3600)
      ),
      clock: clock
    )
    let id = try NodeID(validating: "n")
    _ = try registry.register(NodeRegistration(id: id))
    let observed = Observed()
    registry.observe { observed.observe($0) }
    clock.advance(by: .seconds(2))

    // One thread expires the node and is held before its observers hear of it.
    let expiry = Thread { _ = registry.expireOverdue() }
    expiry.start()
    try await eventually { observed.firstCallEntered.withLock { $0 } }
    #expect(try registry.node(id).status == .disconnected)
    // Meanwhile the node registers again: the table now says ACTIVE.
    _ = try registry.register(NodeRegistration(id: id))
    #expect(try registry.node(id).status == .active)
    observed.gateOpen.withLock { $0 = true }

    try await eventually { observed.statuses.withLock { $0.last } == .active }
    // Observers end up where the table is: DISCONNECTED first, then ACTIVE — never the
    // re-registration overtaken by the older expiry.
    let heard = observed.statuses.withLock { $0 }
    #expect(heard.last == .active, "\(heard)")
    #expect(heard.firstIndex(of: .disconnected).map { $0 < heard.count - 1 } == true, "\(heard)")
  }
}
