import OrchionCore
import OrchionScheduler
import OrchionStore
import Testing

@testable import OrchionServer

@Suite("ClusterState transitions")
struct ClusterStateTests {
  let start = UTCInstant(nanosecondsSinceEpoch: 1_700_000_000_000_000_000)
  var generator = SystemRandomNumberGenerator()

  func cluster(lostAfter: Duration = .seconds(60)) -> ClusterState {
    ClusterState(
      nodes: .init(
        heartbeatTimeout: .seconds(30),
        lostAfter: lostAfter,
        forgetAfter: .seconds(600)
      ),
      limits: .init(retainedFinishedTasks: 100, maxLostAttempts: 5)
    )
  }

  func register(_ name: String, in state: inout ClusterState, at now: UTCInstant) throws -> Node {
    var generator = SystemRandomNumberGenerator()
    return try state.register(
      NodeRegistration(id: try NodeID(validating: name), slots: 4),
      now: now,
      credential: { _ in nil },
      newID: { NodeID.random(using: &generator) }
    ).node
  }

  mutating func schedule(_ state: inout ClusterState, at now: UTCInstant) -> [(
    NodeID, ClusterAction.Assignment
  )] {
    state.schedule(scheduler: StrategyScheduler(strategy: .spread), now: now, generator: &generator)
      .compactMap { action in
        if case .assign(let node, let assignment) = action { return (node, assignment) }
        return nil
      }
  }

  func endedSessions(_ actions: [ClusterAction]) -> [SessionID] {
    actions.compactMap { action in
      if case .endSession(let session) = action { return session }
      return nil
    }
  }

  func savedStatuses(_ changes: [StateChange]) -> [NodeStatus] {
    changes.compactMap { change in
      if case .nodeSaved(let node) = change { return node.status }
      return nil
    }
  }

  @Test("a task is placed only on an active node whose agent has a stream")
  mutating func placementNeedsSession() throws {
    var state = cluster()
    let node = try register("n1", in: &state, at: start)
    let task = try state.submit(TaskSpec(command: ["true"]), now: start)
    #expect(schedule(&state, at: start).isEmpty)
    #expect(try state.board.task(task.id).state == .pending)

    _ = state.attach(node: node.id, running: [], now: start)
    let placed = schedule(&state, at: start)
    #expect(placed.map(\.0) == [node.id])
    #expect(placed.map(\.1.task) == [task.id])
  }

  @Test(
    "a heartbeat expiry and the re-registration right after it reach the tasks in the order they happened"
  )
  mutating func expiryThenReRegistration() throws {
    var state = cluster(lostAfter: .zero)
    let node = try register("n1", in: &state, at: start)
    let (session, _) = state.attach(node: node.id, running: [], now: start)
    let task = try state.submit(TaskSpec(command: ["sleep", "60"]), now: start)
    let placed = schedule(&state, at: start)
    #expect(placed.count == 1)
    _ = state.takeChanges()

    // Silence past the timeout: DISCONNECTED, which loses the task's attempt and ends the
    // stream, in the same transition.
    let later = start.advanced(by: .seconds(31))
    let expired = state.expire(now: later)
    #expect(expired.transitions.map(\.node.status) == [.inactive, .disconnected])
    #expect(endedSessions(expired.actions) == [session])
    #expect(try state.board.task(task.id).state == .pending)
    #expect(state.sessions[node.id] == nil)

    // The node registers again at once: ACTIVE. The store hears INACTIVE, DISCONNECTED, then
    // ACTIVE — never the re-registration overtaken by the older expiry.
    _ = try register("n1", in: &state, at: later)
    #expect(state.nodes.node(node.id)?.status == .active)
    #expect(savedStatuses(state.takeChanges()) == [.inactive, .disconnected, .active])
    let (again, _) = state.attach(node: node.id, running: [], now: later)
    #expect(again > session)
    #expect(schedule(&state, at: later).map(\.1.task) == [task.id])
  }

  @Test("a newer stream of a node ends the older one; the older one ending later detaches nothing")
  func attachReplaces() throws {
    var state = cluster()
    let node = try register("n1", in: &state, at: start)
    let (first, _) = state.attach(node: node.id, running: [], now: start)
    let (second, actions) = state.attach(node: node.id, running: [], now: start)
    #expect(endedSessions(actions) == [first])
    let staleDetached = state.detach(first, node: node.id)
    #expect(!staleDetached)
    #expect(state.sessions[node.id] == second)
    let currentDetached = state.detach(second, node: node.id)
    #expect(currentDetached)
    #expect(state.sessions[node.id] == nil)
  }

  @Test("an agent that reconnects running an attempt the board moved on from is told to stop it")
  mutating func reconcileStale() throws {
    var state = cluster()
    let node = try register("n1", in: &state, at: start)
    _ = state.attach(node: node.id, running: [], now: start)
    let task = try state.submit(TaskSpec(command: ["sleep", "60"]), now: start)
    let attempt = try #require(schedule(&state, at: start).first?.1.attemptID)
    let other = try state.submit(TaskSpec(command: ["true"]), now: start)

    let (_, actions) = state.attach(
      node: node.id,
      running: [(task.id, attempt), (other.id, attempt)],
      now: start
    )
    let stops = actions.compactMap { action -> TaskID? in
      if case .stop(_, let stopped, _, _, _) = action { return stopped }
      return nil
    }
    #expect(stops == [other.id])
  }

  @Test("unregistering a node requeues its tasks, ends its stream and deletes it from the store")
  mutating func removeRequeues() throws {
    var state = cluster()
    let node = try register("n1", in: &state, at: start)
    let (session, _) = state.attach(node: node.id, running: [], now: start)
    let task = try state.submit(TaskSpec(command: ["sleep", "60"]), now: start)
    #expect(schedule(&state, at: start).count == 1)
    _ = state.takeChanges()

    let removed = try state.remove(node.id, now: start)
    #expect(endedSessions(removed.actions) == [session])
    #expect(try state.board.task(task.id).state == .pending)
    #expect(state.nodes.node(node.id) == nil)
    let changes = state.takeChanges()
    #expect(
      changes.contains { change in
        if case .nodeDeleted(let id) = change { return id == node.id }
        return false
      }
    )
    #expect(throws: OrchionError.notFound("node 'n1' is not registered")) {
      try state.remove(node.id, now: start)
    }
  }

  @Test("a heartbeat brings an inactive node back, and only that heartbeat is a change")
  func heartbeatChanges() throws {
    var state = cluster()
    let node = try register("n1", in: &state, at: start)
    _ = state.takeChanges()
    #expect(try state.heartbeat(node.id, now: start.advanced(by: .seconds(10))).changed == false)
    #expect(state.takeChanges().isEmpty)
    _ = state.expire(now: start.advanced(by: .seconds(41)))
    #expect(state.nodes.node(node.id)?.status == .inactive)
    let back = try state.heartbeat(node.id, now: start.advanced(by: .seconds(42)))
    #expect(back.changed)
    #expect(savedStatuses(state.takeChanges()) == [.inactive, .active])
  }

  @Test("a drain with nothing left completes on the next tick: the node stays cordoned")
  func drainCompletes() throws {
    var state = cluster()
    let node = try register("n1", in: &state, at: start)
    let deadline = start.advanced(by: .seconds(3600))
    let drained = try state.setScheduling(
      node.id,
      cordoned: true,
      drainDeadline: deadline,
      now: start
    )
    #expect(drained.node.drainDeadline == deadline)
    let tick = state.tick(now: start.advanced(by: .seconds(1)))
    #expect(tick.wake)
    #expect(state.nodes.node(node.id)?.drainDeadline == nil)
    #expect(state.nodes.node(node.id)?.cordoned == true)
    #expect(!state.tick(now: start.advanced(by: .seconds(2))).wake)
  }

  @Test(
    "the agent saying goodbye disconnects the node and ends its stream; a later heartbeat is refused"
  )
  func leave() throws {
    var state = cluster()
    let node = try register("n1", in: &state, at: start)
    let (session, _) = state.attach(node: node.id, running: [], now: start)
    let left = try state.leave(node.id, now: start)
    #expect(left.node.status == .disconnected)
    #expect(endedSessions(left.actions) == [session])
    #expect(throws: OrchionError.failedPrecondition("node 'n1' is disconnected: register it again"))
    {
      try state.heartbeat(node.id, now: start)
    }
  }

  @Test(
    "restore brings nodes back silent (INACTIVE until heard) and tasks back queued, changing nothing in the store"
  )
  mutating func restore() throws {
    var original = cluster()
    let node = try register("n1", in: &original, at: start)
    let task = try original.submit(TaskSpec(command: ["true"]), now: start)

    var restored = cluster()
    let now = start.advanced(by: .seconds(5))
    restored.restore(tasks: [task], nodes: [node], now: now)
    #expect(restored.takeChanges().isEmpty)
    #expect(restored.nodes.node(node.id)?.status == .inactive)
    #expect(restored.sessions.isEmpty)
    #expect(try restored.board.task(task.id).state == .pending)
    _ = restored.attach(node: node.id, running: [], now: now)
    #expect(schedule(&restored, at: now).isEmpty, "not before its agent is heard")
    #expect(try restored.heartbeat(node.id, now: now).changed)
    #expect(schedule(&restored, at: now).map(\.1.task) == [task.id])
  }

  @Test("shutdown ends every stream, oldest first")
  func detachAll() throws {
    var state = cluster()
    let a = try register("a", in: &state, at: start)
    let b = try register("b", in: &state, at: start)
    let (first, _) = state.attach(node: b.id, running: [], now: start)
    let (second, _) = state.attach(node: a.id, running: [], now: start)
    #expect(endedSessions(state.detachAll()) == [first, second])
    #expect(state.sessions.isEmpty)
  }
}
