import OrchionCore
import OrchionTestSupport
import Testing

@Suite("NodeTable lifecycle")
struct NodeTableTests {
  let start = UTCInstant(nanosecondsSinceEpoch: 1_000_000_000_000)
  let configuration = NodeTable.Configuration(
    heartbeatTimeout: .seconds(30),
    lostAfter: .seconds(60),
    forgetAfter: .seconds(3600)
  )

  func makeTable() -> NodeTable { NodeTable(configuration: configuration) }

  func id(_ text: String) throws -> NodeID { try NodeID(validating: text) }

  func register(_ table: inout NodeTable, _ name: String, at now: UTCInstant) throws -> Node {
    var counter = 0
    return table.register(NodeRegistration(id: try id(name)), now: now) {
      counter += 1
      return try! NodeID(validating: "generated-\(counter)")
    }.node
  }

  @Test("a new node is ACTIVE and stamped with the registration time")
  func registerNew() throws {
    var table = makeTable()
    let result = table.register(
      NodeRegistration(id: try id("a"), address: "10.0.0.1", labels: ["gpu": "yes"]),
      now: start
    ) { try! NodeID(validating: "unused") }
    #expect(result.created)
    #expect(result.node.status == .active)
    #expect(result.node.registeredAt == start)
    #expect(result.node.lastHeartbeat == start)
    #expect(result.node.labels == ["gpu": "yes"])
    #expect(result.transition.from == nil)
    #expect(table.count == 1)
  }

  @Test("an empty ID gets a generated one, retried until unused")
  func generatedID() throws {
    var table = makeTable()
    _ = try register(&table, "taken", at: start)
    var candidates = ["taken", "taken", "fresh"].makeIterator()
    let result = table.register(NodeRegistration(id: nil), now: start) {
      try! NodeID(validating: candidates.next()!)
    }
    #expect(result.node.id.rawValue == "fresh")
    #expect(table.count == 2)
  }

  @Test("re-registering keeps one node, replaces its facts and keeps registeredAt")
  func reRegister() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    let later = start.advanced(by: .seconds(5))
    let result = table.register(
      NodeRegistration(id: try id("a"), address: "new", labels: ["x": "1"], slots: 4),
      now: later
    ) { try! NodeID(validating: "unused") }
    #expect(!result.created)
    #expect(table.count == 1)
    #expect(result.node.address == "new")
    #expect(result.node.labels == ["x": "1"])
    #expect(result.node.slots == 4)
    #expect(result.node.registeredAt == start)
    #expect(result.node.lastHeartbeat == later)
  }

  @Test("ACTIVE becomes INACTIVE exactly when the heartbeat timeout passes")
  func becomesInactive() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    #expect(table.expire(now: start.advanced(by: .seconds(30) - .nanoseconds(1))).isEmpty)
    let transitions = table.expire(now: start.advanced(by: .seconds(30)))
    #expect(transitions.count == 1)
    #expect(transitions.first?.from == .active)
    #expect(transitions.first?.node.status == .inactive)
    #expect(transitions.first?.reason == .heartbeatTimeout)
    #expect(table.node(try id("a"))?.status == .inactive)
  }

  @Test("heartbeats postpone the timeout")
  func heartbeatPostpones() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    _ = try table.heartbeat(try id("a"), now: start.advanced(by: .seconds(20)))
    #expect(table.expire(now: start.advanced(by: .seconds(31))).isEmpty)
    #expect(table.node(try id("a"))?.status == .active)
    #expect(table.expire(now: start.advanced(by: .seconds(50))).count == 1)
  }

  @Test("INACTIVE becomes DISCONNECTED after a further lost-after")
  func becomesDisconnected() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    _ = table.expire(now: start.advanced(by: .seconds(30)))
    #expect(table.expire(now: start.advanced(by: .seconds(89))).isEmpty)
    let transitions = table.expire(now: start.advanced(by: .seconds(90)))
    #expect(transitions.map(\.reason) == [.lost])
    #expect(transitions.first?.from == .inactive)
    #expect(table.node(try id("a"))?.status == .disconnected)
  }

  @Test("one late check applies both transitions in order")
  func bothTransitionsAtOnce() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    let transitions = table.expire(now: start.advanced(by: .seconds(500)))
    #expect(transitions.map(\.reason) == [.heartbeatTimeout, .lost])
  }

  @Test("a heartbeat brings an INACTIVE node back to ACTIVE")
  func inactiveBackToActive() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    _ = table.expire(now: start.advanced(by: .seconds(31)))
    let result = try table.heartbeat(try id("a"), now: start.advanced(by: .seconds(40)))
    #expect(result.node.status == .active)
    #expect(result.transition?.from == .inactive)
    #expect(result.transition?.reason == .heartbeat)
    // The old INACTIVE deadline (at 90 s) must not disconnect it; the new ACTIVE one (70 s) rules.
    #expect(table.expire(now: start.advanced(by: .seconds(69))).isEmpty)
    #expect(
      table.expire(now: start.advanced(by: .seconds(70))).map(\.reason) == [.heartbeatTimeout]
    )
  }

  @Test("a heartbeat for an unknown node is NOT_FOUND and changes nothing")
  func heartbeatUnknown() throws {
    var table = makeTable()
    let ghost = try id("ghost")
    expectOrchionError(.notFound) { try table.heartbeat(ghost, now: start) }
    #expect(table.count == 0)
  }

  @Test("a DISCONNECTED node must register again: heartbeat is FAILED_PRECONDITION")
  func heartbeatDisconnected() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    let a = try id("a")
    _ = try table.leave(a, now: start)
    expectOrchionError(.failedPrecondition) { try table.heartbeat(a, now: start) }
    let again = try register(&table, "a", at: start.advanced(by: .seconds(1)))
    #expect(again.status == .active)
  }

  @Test("registering again after DISCONNECTED re-arms the heartbeat timeout")
  func reRegisterAfterDisconnect() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    _ = table.expire(now: start.advanced(by: .seconds(90)))
    let back = start.advanced(by: .seconds(100))
    _ = try register(&table, "a", at: back)
    #expect(table.expire(now: back.advanced(by: .seconds(30))).map(\.reason) == [.heartbeatTimeout])
  }

  @Test("a goodbye disconnects at once and keeps the node listed; unknown is NOT_FOUND; twice is harmless")
  func leave() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    let result = try table.leave(try id("a"), now: start)
    #expect(result.node.status == .disconnected)
    #expect(result.transition?.reason == .left)
    #expect(try table.leave(try id("a"), now: start).transition == nil)
    #expect(table.nodes().map(\.status) == [.disconnected])
    let b = try id("b")
    expectOrchionError(.notFound) { try table.leave(b, now: start) }
  }

  @Test("remove takes the node out of the table at once; its pending deadlines do nothing")
  func remove() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    let removed = try table.remove(try id("a"), now: start)
    #expect(removed.transition.reason == .unregistered)
    #expect(removed.transition.from == .active)
    // Lost with it: the transition's node is DISCONNECTED, so its work is requeued.
    #expect(removed.node.status == .disconnected)
    #expect(table.count == 0)
    #expect(table.nodes().isEmpty)
    #expect(table.expire(now: start.advanced(by: .seconds(7200))).isEmpty)
    let a = try id("a")
    expectOrchionError(.notFound) { try table.remove(a, now: start) }
    // It may register again, as a new node.
    _ = try register(&table, "a", at: start.advanced(by: .seconds(1)))
    #expect(table.nodes().map(\.status) == [.active])
  }

  @Test(
    "after a restart a silent node is lost only the full heartbeat-timeout + lost-after after it"
  )
  func restoredNodeKeepsItsWholeLease() throws {
    var table = makeTable()
    let restart = start.advanced(by: .seconds(10))
    var node = try register(&table, "a", at: start)
    node.lastHeartbeat = start  // heard at `start`; the orchestrator restarts 10 s later
    var restored = makeTable()
    restored.restore(node, now: restart)
    #expect(restored.nodes().map(\.status) == [.inactive])
    // The agent's lease counts from the last heartbeat the old orchestrator acknowledged, which
    // is no earlier than `start`: the new one must not call it lost before restart + 90 s.
    let fullTimeout = configuration.heartbeatTimeout + configuration.lostAfter
    #expect(restored.expire(now: restart.advanced(by: fullTimeout - .milliseconds(1))).isEmpty)
    #expect(restored.expire(now: restart.advanced(by: fullTimeout)).map(\.reason) == [.lost])
  }

  @Test("disconnected nodes are forgotten after forgetAfter")
  func forgotten() throws {
    var table = makeTable()
    _ = try register(&table, "a", at: start)
    _ = try table.leave(try id("a"), now: start)
    #expect(table.expire(now: start.advanced(by: .seconds(3599))).isEmpty)
    #expect(table.expire(now: start.advanced(by: .seconds(3600))).map(\.reason) == [.forgotten])
    #expect(table.count == 0)
  }

  @Test("listing filters by status and orders by ID")
  func listing() throws {
    var table = makeTable()
    _ = try register(&table, "c", at: start)
    _ = try register(&table, "a", at: start)
    _ = try register(&table, "b", at: start.advanced(by: .seconds(20)))
    _ = table.expire(now: start.advanced(by: .seconds(30)))
    #expect(table.nodes().map(\.id.rawValue) == ["a", "b", "c"])
    #expect(table.nodes(status: .inactive).map(\.id.rawValue) == ["a", "c"])
    #expect(table.nodes(status: .active).map(\.id.rawValue) == ["b"])
    #expect(table.nodes(status: .disconnected).isEmpty)
  }

  @Test("100,000 heartbeating nodes: a check costs only what is due, the heap stays one per node")
  func manyNodes() throws {
    var table = makeTable()
    for index in 0..<100_000 {
      _ = try register(
        &table,
        "n\(index)",
        at: start.advanced(by: .milliseconds(Int64(index % 1000)))
      )
    }
    // Everyone heartbeats at 10 s; nothing is due at 35 s.
    for index in 0..<100_000 {
      _ = try table.heartbeat(try id("n\(index)"), now: start.advanced(by: .seconds(10)))
    }
    #expect(table.expire(now: start.advanced(by: .seconds(35))).isEmpty)
    #expect(table.nodes(status: .active).count == 100_000)
    let expired = table.expire(now: start.advanced(by: .seconds(40)))
    #expect(expired.count == 100_000)
  }
}
