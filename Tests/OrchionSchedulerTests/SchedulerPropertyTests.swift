import OrchionCore
import OrchionScheduler
import Testing

/// Random clusters and queues from a seeded generator (``SplitMix64``), so every failure names a
/// seed that reproduces it.
@Suite("StrategyScheduler properties over random clusters")
struct SchedulerPropertyTests {
  static let labelValues = ["gpu": ["a100", "t4"], "zone": ["home", "office", "cloud"]]

  static func randomLabels(_ random: inout SplitMix64) -> [String: String] {
    var labels: [String: String] = [:]
    for (key, values) in labelValues where Bool.random(using: &random) {
      labels[key] = values.randomElement(using: &random)
    }
    return labels
  }

  static func randomConstraints(_ random: inout SplitMix64) -> [LabelConstraint] {
    let all: [LabelConstraint] = [
      .equals(key: "zone", value: "home"), .notEquals(key: "gpu", value: "t4"),
      .isIn(key: "zone", values: ["home", "cloud"]), .notIn(key: "zone", values: ["office"]),
      .exists(key: "gpu"), .absent(key: "gpu"),
    ]
    return (0..<Int.random(in: 0...2, using: &random)).compactMap { _ in
      all.randomElement(using: &random)
    }
  }

  static func randomCluster(_ random: inout SplitMix64) -> ClusterSnapshot {
    let count = Int.random(in: 1...60, using: &random)
    var nodes: [ClusterSnapshot.Node] = []
    for index in 0..<count {
      let capacity = Resources(
        cpuMillis: Int64.random(in: 1...16, using: &random) * 1000,
        memoryBytes: Int64.random(in: 1...64, using: &random) << 30,
        gpus: Int32.random(in: 0...2, using: &random),
        extended: Bool.random(using: &random) ? ["tool/claude": 2] : [:]
      )
      let used = Resources(
        cpuMillis: Int64.random(in: 0...capacity.cpuMillis, using: &random),
        memoryBytes: Int64.random(in: 0...capacity.memoryBytes, using: &random)
      )
      let slots = Int32.random(in: 0...8, using: &random)
      let tasks =
        slots == 0
        ? Int.random(in: 0...4, using: &random) : Int.random(in: 0...Int(slots), using: &random)
      var preemptible: [RunningTask] = []
      if Int.random(in: 0..<4, using: &random) == 0, used.cpuMillis >= 1000, tasks > 0 {
        preemptible.append(
          RunningTask(
            id: TaskID(createdAt: .epoch, sequence: UInt32(1_000_000 + index)),
            priority: Int32.random(in: 0...60, using: &random),
            resources: Resources(cpuMillis: 1000)
          )
        )
      }
      nodes.append(
        ClusterSnapshot.Node(
          id: Fixtures.nodeID("n\(index)"),
          status: Int.random(in: 0..<10, using: &random) == 0 ? .inactive : .active,
          cordoned: Int.random(in: 0..<10, using: &random) == 0,
          labels: randomLabels(&random),
          capacity: capacity,
          allocated: used,
          slots: slots,
          tasks: tasks,
          preemptible: preemptible
        )
      )
    }
    return ClusterSnapshot(nodes: nodes)
  }

  static func randomQueue(_ random: inout SplitMix64) -> [PendingTask] {
    (0..<Int.random(in: 1...200, using: &random)).map { index in
      PendingTask(
        id: TaskID(createdAt: .epoch, sequence: UInt32(index)),
        resources: Resources(
          cpuMillis: Int64.random(in: 0...8, using: &random) * 500,
          memoryBytes: Int64.random(in: 0...16, using: &random) << 30,
          gpus: Int.random(in: 0..<5, using: &random) == 0 ? 1 : 0,
          extended: Int.random(in: 0..<5, using: &random) == 0 ? ["tool/claude": 1] : [:]
        ),
        nodeSelector: Int.random(in: 0..<4, using: &random) == 0 ? ["zone": "home"] : [:],
        constraints: randomConstraints(&random),
        priority: Int32.random(in: 0...100, using: &random),
        strategy: PlacementStrategy.allCases.randomElement(using: &random),
        reserve: Int.random(in: 0..<10, using: &random) == 0
      )
    }.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : $0.id < $1.id }
  }

  @Test(
    "no node over-committed, every placement satisfies its task, whatever fits is placed",
    arguments: [PlacementStrategy.binpack, .spread, .roundRobin]
  )
  func properties(strategy: PlacementStrategy) {
    for seed in UInt64(1)...300 {
      var random = SplitMix64(seed: seed &* 7919 &+ UInt64(strategy.rawValue.count))
      let snapshot = Self.randomCluster(&random)
      let queue = Self.randomQueue(&random)
      let decision = StrategyScheduler(strategy: strategy).schedule(queue, in: snapshot)
      let tasks = Dictionary(uniqueKeysWithValues: queue.map { ($0.id, $0) })
      var nodes = Dictionary(uniqueKeysWithValues: snapshot.nodes.map { ($0.id, $0) })

      // Each task is placed at most once.
      let placedIDs = decision.placements.map(\.task)
      #expect(Set(placedIDs).count == placedIDs.count, "seed \(seed): a task placed twice")

      for placement in decision.placements {
        guard let task = tasks[placement.task], var node = nodes[placement.node] else {
          Issue.record("seed \(seed): placement names an unknown task or node")
          continue
        }
        #expect(node.isSchedulable, "seed \(seed): placed on a node not taking work")
        #expect(task.accepts(labels: node.labels), "seed \(seed): constraints broken")
        #expect(node.hasFreeSlot, "seed \(seed): no slot left on \(node.id)")
        #expect(
          task.resources.fits(in: node.capacity, besides: node.allocated),
          "seed \(seed): \(node.id) over-committed"
        )
        node.allocated = node.allocated + task.resources
        node.tasks += 1
        nodes[node.id] = node
      }

      // Victims are preemptible tasks of lower priority than their preemptor, each evicted once.
      let victims = decision.preemptions.flatMap(\.victims)
      #expect(Set(victims).count == victims.count, "seed \(seed): a task evicted twice")
      for preemption in decision.preemptions {
        let preemptor = tasks[preemption.task]
        let running = snapshot.nodes.first { $0.id == preemption.node }?.preemptible ?? []
        for victim in preemption.victims {
          let priority = running.first { $0.id == victim }?.priority
          #expect(priority != nil, "seed \(seed): victim not preemptible on that node")
          #expect((priority ?? .max) < (preemptor?.priority ?? .min), "seed \(seed)")
        }
      }

      // A task left out fits nowhere in the final state, except on nodes held for others.
      let held = Set(decision.reservations.map(\.node) + decision.preemptions.map(\.node))
      let placed = Set(placedIDs)
      for task in queue where !placed.contains(task.id) {
        let fitsSomewhere = nodes.values.contains { node in
          node.isSchedulable && !held.contains(node.id) && node.hasFreeSlot
            && task.accepts(labels: node.labels)
            && task.resources.fits(in: node.capacity, besides: node.allocated)
        }
        #expect(!fitsSomewhere, "seed \(seed): task \(task.id) fits but was not placed")
      }
    }
  }

  @Test("the decision depends only on its input")
  func deterministic() {
    var random = SplitMix64(seed: 42)
    let snapshot = Self.randomCluster(&random)
    let queue = Self.randomQueue(&random)
    for strategy in PlacementStrategy.allCases {
      let scheduler = StrategyScheduler(strategy: strategy)
      #expect(scheduler.schedule(queue, in: snapshot) == scheduler.schedule(queue, in: snapshot))
    }
  }
}
