import OrchionCore
import Testing

@testable import OrchionScheduler

/// One pass, task by task: what each call to ``SchedulingPass/schedule(_:)`` changes.
@Suite("SchedulingPass")
struct SchedulingPassTests {
  typealias F = Fixtures

  func pass(
    _ nodes: [ClusterSnapshot.Node],
    queue: [PendingTask],
    strategy: PlacementStrategy = .binpack,
    candidateLimit: Int = 32,
    roundRobinAfter: NodeID? = nil
  ) -> SchedulingPass {
    SchedulingPass(
      snapshot: ClusterSnapshot(nodes: nodes, roundRobinAfter: roundRobinAfter),
      queue: queue,
      defaultStrategy: strategy,
      candidateLimit: candidateLimit
    )
  }

  func placed(_ pass: SchedulingPass) -> [String] {
    pass.decision.placements.map { "\($0.task.rawValue.suffix(2))@\($0.node.rawValue)" }
  }

  @Test("once every node is full and nothing may be preempted, the pass says nothing can change")
  func stopsWhenFull() {
    let tasks = (1...3).map { F.task(UInt32($0)) }
    var pass = pass([F.node("a", slots: 1), F.node("b", slots: 1)], queue: tasks)
    let answers = tasks.map { pass.schedule($0) }
    #expect(answers == [true, true, false], "both slots are taken by the third")
    #expect(pass.decision.placements.count == 2)
  }

  @Test("binpack fills one node before the next, and comes back to leftovers after a round")
  func binpackFills() {
    let tasks = (1...4).map { F.task(UInt32($0), cpu: 1000) }
    var pass = pass(
      [F.node("a", cpu: 2000), F.node("b", cpu: 2000)],
      queue: tasks,
      strategy: .binpack
    )
    for task in tasks { _ = pass.schedule(task) }
    let nodes = pass.decision.placements.map(\.node.rawValue)
    #expect(nodes == ["a", "a", "b", "b"])
  }

  @Test("spread puts each task on the emptiest node")
  func spreadSpreads() {
    let tasks = (1...4).map { F.task(UInt32($0), cpu: 500) }
    var pass = pass(
      [F.node("a"), F.node("b"), F.node("c", allocated: Resources(cpuMillis: 3000))],
      queue: tasks,
      strategy: .spread
    )
    for task in tasks { _ = pass.schedule(task) }
    let counts = Dictionary(grouping: pass.decision.placements, by: \.node.rawValue)
      .mapValues(\.count)
    #expect(counts["a"] == 2)
    #expect(counts["b"] == 2)
    #expect(counts["c"] == nil, "the loaded node stays emptier-last")
  }

  @Test("round-robin continues after the node the previous pass ended on")
  func roundRobinContinues() {
    let tasks = (1...3).map { F.task(UInt32($0)) }
    var pass = pass(
      [F.node("a"), F.node("b"), F.node("c")],
      queue: tasks,
      strategy: .roundRobin,
      roundRobinAfter: F.nodeID("b")
    )
    for task in tasks { _ = pass.schedule(task) }
    #expect(pass.decision.placements.map(\.node.rawValue) == ["c", "a", "b"])
  }

  @Test("a task that fits nowhere is skipped; later ones that fit are still placed")
  func headOfLineSkipped() {
    let big = F.task(1, cpu: 64_000)
    let small = F.task(2, cpu: 100)
    var pass = pass([F.node("a")], queue: [big, small])
    let answers = [big, small].map { pass.schedule($0) }
    #expect(answers == [true, true])
    #expect(pass.decision.placements.map(\.task) == [small.id])
    #expect(pass.decision.reservations.isEmpty, "it did not ask to reserve")
  }

  @Test("a reserving task holds a node: later tasks are not placed on it")
  func reservationHolds() {
    let big = F.task(1, cpu: 4000, reserve: true)
    let small = F.task(2, cpu: 100)
    var pass = pass(
      [F.node("a", cpu: 4000, allocated: Resources(cpuMillis: 1000))],
      queue: [big, small]
    )
    _ = pass.schedule(big)
    _ = pass.schedule(small)
    #expect(pass.decision.reservations.map(\.node.rawValue) == ["a"])
    #expect(pass.decision.placements.isEmpty)
  }

  @Test("at most one node in ten (at least one) is held per pass")
  func reservationsBounded() {
    let nodes = (0..<20).map { F.node("n\($0)", cpu: 1000, allocated: Resources(cpuMillis: 500)) }
    // Five large tasks that fit nowhere yet, and a small one that keeps the nodes open.
    let tasks = (1...5).map { F.task(UInt32($0), cpu: 1000, reserve: true) } + [F.task(6, cpu: 100)]
    var pass = pass(nodes, queue: tasks)
    for task in tasks { _ = pass.schedule(task) }
    #expect(pass.decision.reservations.count == 2)
    let held = Set(pass.decision.reservations.map(\.node))
    #expect(pass.decision.placements.map(\.task) == [F.taskID(6)])
    #expect(pass.decision.placements.allSatisfy { !held.contains($0.node) })
  }

  @Test("a higher-priority task that fits nowhere preempts a lower-priority preemptible one")
  func preempts() {
    let victim = RunningTask(id: F.taskID(9), priority: 10, resources: Resources(cpuMillis: 4000))
    let urgent = F.task(1, cpu: 4000, priority: 90)
    var pass = pass(
      [
        F.node(
          "a",
          cpu: 4000,
          allocated: Resources(cpuMillis: 4000),
          tasks: 1,
          preemptible: [victim]
        )
      ],
      queue: [urgent]
    )
    let answer = pass.schedule(urgent)
    #expect(answer)
    #expect(pass.decision.preemptions.map(\.victims) == [[victim.id]])
    #expect(pass.decision.placements.isEmpty, "it starts once the victim is gone")
  }
}
