import OrchionCore
import OrchionScheduler
import Testing

@Suite("StrategyScheduler: strategies and feasibility")
struct StrategySchedulerTests {
  typealias F = Fixtures

  struct StrategyCase: Sendable, CustomTestStringConvertible {
    var strategy: PlacementStrategy
    /// Node "a" has 1000m of 4000m allocated, "b" 3000m, "c" nothing.
    var expected: [UInt32: String]
    var testDescription: String { strategy.rawValue }
  }

  @Test(
    "each strategy chooses its node",
    arguments: [
      // Most allocated that fits: b (75%) first; b then has 1000m left for task 1 as well.
      StrategyCase(strategy: .binpack, expected: [0: "b", 1: "b", 2: "a"]),
      // Least allocated: c, then c again (25% < a's 25%? tie broken by fewer tasks), ...
      StrategyCase(strategy: .spread, expected: [0: "c", 1: "c", 2: "a"]),
      // In turn by node ID, regardless of load.
      StrategyCase(strategy: .roundRobin, expected: [0: "a", 1: "b", 2: "c"]),
    ]
  )
  func strategies(_ example: StrategyCase) {
    let snapshot = ClusterSnapshot(nodes: [
      F.node("c"),
      F.node("a", allocated: Resources(cpuMillis: 1000), tasks: 1),
      F.node("b", allocated: Resources(cpuMillis: 3000), tasks: 1),
    ])
    let decision = StrategyScheduler(strategy: example.strategy)
      .schedule((0..<3).map { F.task($0, cpu: 500) }, in: snapshot)
    #expect(decision.byTask == example.expected)
  }

  @Test("a task's own strategy overrides the server's")
  func perTaskStrategy() {
    let snapshot = ClusterSnapshot(nodes: [
      F.node("a", allocated: Resources(cpuMillis: 3000), tasks: 1), F.node("b"),
    ])
    let scheduler = StrategyScheduler(strategy: .binpack)
    #expect(scheduler.schedule([F.task(0, cpu: 100)], in: snapshot).byTask == [0: "a"])
    #expect(
      scheduler.schedule([F.task(0, cpu: 100, strategy: .spread)], in: snapshot).byTask
        == [0: "b"]
    )
  }

  @Test("binpack keeps the large node free for a large task")
  func binpackKeepsRoom() {
    let snapshot = ClusterSnapshot(nodes: [
      F.node("small", cpu: 2000, allocated: Resources(cpuMillis: 1000), tasks: 1),
      F.node("large", cpu: 16000),
    ])
    let decision = StrategyScheduler(strategy: .binpack)
      .schedule([F.task(0, cpu: 1000), F.task(1, cpu: 16000)], in: snapshot)
    #expect(decision.byTask == [0: "small", 1: "large"])
  }

  @Test("round-robin continues after the previous pass's node")
  func roundRobinAcrossPasses() {
    let nodes = ["a", "b", "c"].map { F.node($0) }
    let scheduler = StrategyScheduler(strategy: .roundRobin)
    let first = scheduler.schedule([F.task(0)], in: ClusterSnapshot(nodes: nodes))
    #expect(first.byTask == [0: "a"])
    let second = scheduler.schedule(
      [F.task(1), F.task(2), F.task(3)],
      in: ClusterSnapshot(nodes: nodes, roundRobinAfter: first.roundRobinLast)
    )
    #expect(second.byTask == [1: "b", 2: "c", 3: "a"])
  }

  struct ConstraintCase: Sendable, CustomTestStringConvertible {
    var rule: String
    /// Nodes: x{gpu=a100, zone=home}, y{gpu=t4}, z{} — which may take the task.
    var allowed: Set<String>
    var testDescription: String { rule }
  }

  @Test(
    "each constraint kind admits exactly the matching nodes",
    arguments: [
      ConstraintCase(rule: "gpu=a100", allowed: ["x"]),
      ConstraintCase(rule: "gpu!=a100", allowed: ["y", "z"]),
      ConstraintCase(rule: "gpu in (a100, t4)", allowed: ["x", "y"]),
      ConstraintCase(rule: "gpu notin (t4)", allowed: ["x", "z"]),
      ConstraintCase(rule: "zone", allowed: ["x"]),
      ConstraintCase(rule: "!gpu", allowed: ["z"]),
      ConstraintCase(rule: "gpu in (h100)", allowed: []),
    ]
  )
  func constraints(_ example: ConstraintCase) {
    let nodes = [
      F.node("x", labels: ["gpu": "a100", "zone": "home"]),
      F.node("y", labels: ["gpu": "t4"]),
      F.node("z"),
    ]
    var admitted = Set<String>()
    for node in nodes {
      let decision = StrategyScheduler().schedule(
        [F.task(0, constraints: [example.rule])],
        in: ClusterSnapshot(nodes: [node])
      )
      if let placed = decision.placements.first { admitted.insert(placed.node.rawValue) }
    }
    #expect(admitted == example.allowed)
  }

  @Test("selector and constraints must all hold")
  func selectorAndConstraints() {
    let snapshot = ClusterSnapshot(nodes: [
      F.node("a", labels: ["os": "linux", "gpu": "t4"]),
      F.node("b", labels: ["os": "linux", "gpu": "a100"]),
      F.node("c", labels: ["os": "darwin", "gpu": "a100"]),
    ])
    let decision = StrategyScheduler().schedule(
      [F.task(0, selector: ["os": "linux"], constraints: ["gpu in (a100,h100)"])],
      in: snapshot
    )
    #expect(decision.byTask == [0: "b"])
  }

  struct ResourceCase: Sendable, CustomTestStringConvertible {
    var name: String
    var task: PendingTask
    var fits: Bool
    var testDescription: String { name }
  }

  @Test(
    "every kind of resource must fit",
    arguments: [
      ResourceCase(name: "cpu fits", task: F.task(0, cpu: 4000), fits: true),
      ResourceCase(name: "cpu too much", task: F.task(0, cpu: 4001), fits: false),
      ResourceCase(name: "memory too much", task: F.task(0, memory: (8 << 30) + 1), fits: false),
      ResourceCase(name: "gpus fit", task: F.task(0, gpus: 2), fits: true),
      ResourceCase(name: "gpus too many", task: F.task(0, gpus: 3), fits: false),
      ResourceCase(
        name: "named resource fits",
        task: F.task(0, extended: ["tool/claude": 4]),
        fits: true
      ),
      ResourceCase(
        name: "named resource too many",
        task: F.task(0, extended: ["tool/claude": 5]),
        fits: false
      ),
      ResourceCase(
        name: "named resource the node lacks",
        task: F.task(0, extended: ["model/llama3-8b": 1]),
        fits: false
      ),
    ]
  )
  func resources(_ example: ResourceCase) {
    let snapshot = ClusterSnapshot(nodes: [
      F.node("a", gpus: 2, extended: ["tool/claude": 4])
    ])
    let decision = StrategyScheduler().schedule([example.task], in: snapshot)
    #expect(decision.placements.count == (example.fits ? 1 : 0))
  }

  @Test("named resources are consumed: 4 claude seats take 4 tasks, not 5")
  func namedResourcesConsumed() {
    let snapshot = ClusterSnapshot(nodes: [F.node("a", extended: ["tool/claude": 4])])
    let decision = StrategyScheduler().schedule(
      (0..<5).map { F.task($0, extended: ["tool/claude": 1]) },
      in: snapshot
    )
    #expect(decision.placements.count == 4)
  }

  @Test("only ACTIVE, uncordoned nodes take work")
  func onlySchedulableNodes() {
    let snapshot = ClusterSnapshot(nodes: [
      F.node("inactive", status: .inactive),
      F.node("gone", status: .disconnected),
      F.node("cordoned", cordoned: true),
      F.node("ok"),
    ])
    let decision = StrategyScheduler().schedule((0..<3).map { F.task($0) }, in: snapshot)
    #expect(Set(decision.placements.map(\.node.rawValue)) == ["ok"])
  }

  @Test("slots bound the tasks per node")
  func slots() {
    let snapshot = ClusterSnapshot(nodes: [F.node("a", slots: 2)])
    #expect(
      StrategyScheduler().schedule((0..<5).map { F.task($0) }, in: snapshot).placements.count
        == 2
    )
  }
}

@Suite("StrategyScheduler: distinct groups (spread one member per node)")
struct DistinctGroupTests {
  typealias F = Fixtures

  static func member(_ index: UInt32, group: String?) -> PendingTask {
    var task = F.task(index, cpu: 100)
    task.distinctGroup = group
    return task
  }

  @Test(
    "members of one distinct group go one per node; one too many waits; others of the same shape still pack",
    arguments: PlacementStrategy.allCases
  )
  func onePerNode(_ strategy: PlacementStrategy) {
    let snapshot = ClusterSnapshot(nodes: [F.node("a"), F.node("b")])
    let queue = [0, 1, 2].map { Self.member($0, group: "g1") } + [Self.member(3, group: nil), Self.member(4, group: "g2")]
    let decision = StrategyScheduler(strategy: strategy).schedule(queue, in: snapshot)
    let placed = decision.byTask
    #expect(Set([placed[0], placed[1]]) == ["a", "b"], "\(placed)")
    #expect(placed[2] == nil, "a third member has no node free of the others: \(placed)")
    #expect(placed[3] != nil && placed[4] != nil, "\(placed)")
  }

  @Test("a node already holding a member takes no other, in a later pass too")
  func alreadyPlaced() {
    var a = F.node("a")
    a.distinctGroups = ["g1"]
    let snapshot = ClusterSnapshot(nodes: [a, F.node("b")])
    let decision = StrategyScheduler(strategy: .binpack).schedule([Self.member(0, group: "g1"), Self.member(1, group: "g1")], in: snapshot)
    #expect(decision.byTask == [0: "b"])
  }
}
