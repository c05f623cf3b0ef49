import OrchionCore
import OrchionScheduler
import Testing

@Suite("StrategyScheduler: queue order, head of line, reservation, preemption")
struct QueueAndPreemptionTests {
  typealias F = Fixtures

  @Test("the queue is served in the order given: the first task gets the last free slot")
  func queueOrder() {
    let snapshot = ClusterSnapshot(nodes: [F.node("a", slots: 1)])
    let decision = StrategyScheduler().schedule(
      [F.task(7, priority: 90), F.task(1, priority: 10)],
      in: snapshot
    )
    #expect(decision.byTask == [7: "a"])
  }

  @Test("a task that fits nowhere does not block smaller ones behind it")
  func headOfLine() {
    let snapshot = ClusterSnapshot(nodes: [F.node("a", cpu: 4000)])
    let decision = StrategyScheduler().schedule(
      [F.task(0, cpu: 8000), F.task(1, cpu: 1000), F.task(2, cpu: 1000)],
      in: snapshot
    )
    #expect(decision.byTask == [1: "a", 2: "a"])
    #expect(decision.reservations.isEmpty)
  }

  @Test("a starving task reserves the emptiest node that could hold it; later tasks go elsewhere")
  func reservation() {
    let snapshot = ClusterSnapshot(nodes: [
      F.node("a", cpu: 4000, allocated: Resources(cpuMillis: 3000), tasks: 3),
      F.node("b", cpu: 4000, allocated: Resources(cpuMillis: 1000), tasks: 1),
      F.node("c", cpu: 4000, allocated: Resources(cpuMillis: 2000), tasks: 2),
    ])
    let decision = StrategyScheduler().schedule(
      [F.task(0, cpu: 4000, reserve: true), F.task(1, cpu: 500), F.task(2, cpu: 500)],
      in: snapshot
    )
    #expect(decision.reservations == [Placement(task: F.taskID(0), node: F.nodeID("b"))])
    #expect(Set(decision.byTask.values).isDisjoint(with: ["b"]))
    #expect(decision.placements.count == 2)
  }

  @Test("without the reserve mark the small tasks fill the node the large one needs")
  func noReservationWithoutMark() {
    let snapshot = ClusterSnapshot(nodes: [
      F.node("b", cpu: 4000, allocated: Resources(cpuMillis: 1000), tasks: 1)
    ])
    let decision = StrategyScheduler().schedule(
      [F.task(0, cpu: 4000), F.task(1, cpu: 500)],
      in: snapshot
    )
    #expect(decision.byTask == [1: "b"])
  }

  @Test("preemption evicts the fewest lowest-priority preemptible tasks that make room")
  func preemptionChoosesFewest() {
    let snapshot = ClusterSnapshot(nodes: [
      // Needs two evictions to free 2000m.
      F.node(
        "a",
        allocated: Resources(cpuMillis: 4000),
        tasks: 4,
        preemptible: [
          F.running(10, cpu: 1000, priority: 10), F.running(11, cpu: 1000, priority: 20),
        ]
      ),
      // One eviction frees 2000m.
      F.node(
        "b",
        allocated: Resources(cpuMillis: 4000),
        tasks: 2,
        preemptible: [F.running(20, cpu: 2000, priority: 30)]
      ),
    ])
    let decision = StrategyScheduler().schedule([F.task(0, cpu: 2000, priority: 80)], in: snapshot)
    #expect(decision.placements.isEmpty)
    #expect(
      decision.preemptions == [
        Preemption(task: F.taskID(0), node: F.nodeID("b"), victims: [F.taskID(20)])
      ]
    )
  }

  @Test("victims are taken lowest priority first, newest first within a priority")
  func victimOrder() {
    let snapshot = ClusterSnapshot(nodes: [
      F.node(
        "a",
        allocated: Resources(cpuMillis: 4000),
        tasks: 4,
        preemptible: [
          F.running(1, cpu: 1000, priority: 20), F.running(2, cpu: 1000, priority: 10),
          F.running(3, cpu: 1000, priority: 10), F.running(4, cpu: 1000, priority: 40),
        ]
      )
    ])
    let decision = StrategyScheduler().schedule([F.task(0, cpu: 2000, priority: 50)], in: snapshot)
    #expect(decision.preemptions.first?.victims == [F.taskID(3), F.taskID(2)])
  }

  @Test("nothing is preempted for an equal or lower priority, nor non-preemptible work")
  func noPreemption() {
    let snapshot = ClusterSnapshot(nodes: [
      F.node(
        "a",
        allocated: Resources(cpuMillis: 4000),
        tasks: 1,
        preemptible: [F.running(1, cpu: 1000, priority: 50)]
      )
    ])
    // Equal priority: no eviction.
    #expect(
      StrategyScheduler().schedule([F.task(0, cpu: 1000, priority: 50)], in: snapshot)
        .preemptions.isEmpty
    )
    // Higher priority, but evicting the one preemptible task is not enough (3000m is not).
    #expect(
      StrategyScheduler().schedule([F.task(0, cpu: 2000, priority: 90)], in: snapshot)
        .preemptions.isEmpty
    )
  }

  @Test("a preemptor whose room is already being freed waits instead of evicting more")
  func waitsForReleasing() {
    var node = F.node(
      "a",
      allocated: Resources(cpuMillis: 4000),
      tasks: 3,
      preemptible: [F.running(2, cpu: 1000, priority: 10)]
    )
    node.releasing = Resources(cpuMillis: 2000)
    node.releasingTasks = 1
    let decision = StrategyScheduler().schedule(
      [F.task(0, cpu: 2000, priority: 80), F.task(1, cpu: 0, priority: 5)],
      in: ClusterSnapshot(nodes: [node])
    )
    #expect(decision.preemptions.isEmpty)
    #expect(decision.reservations == [Placement(task: F.taskID(0), node: F.nodeID("a"))])
    // The held node takes no later task.
    #expect(decision.placements.isEmpty)
  }

  @Test("one pass does not evict the same task for two preemptors")
  func victimsNotShared() {
    let snapshot = ClusterSnapshot(nodes: [
      F.node(
        "a",
        allocated: Resources(cpuMillis: 4000),
        tasks: 1,
        preemptible: [F.running(1, cpu: 4000, priority: 10)]
      )
    ])
    let decision = StrategyScheduler().schedule(
      [F.task(0, cpu: 1000, priority: 90), F.task(1, cpu: 1000, priority: 90)],
      in: snapshot
    )
    #expect(decision.preemptions.count == 1)
  }
}
