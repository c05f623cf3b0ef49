import OrchionCore
import OrchionScheduler
import Testing

@Suite("LeastLoadedScheduler")
struct LeastLoadedSchedulerTests {
  let scheduler = LeastLoadedScheduler()

  func node(
    _ name: String,
    cpu: Int64 = 4000,
    memory: Int64 = 8 << 30,
    gpus: Int32 = 0,
    labels: [String: String] = [:],
    slots: Int32 = 0,
    allocated: Resources = .zero,
    tasks: Int = 0
  ) throws -> ClusterSnapshot.Node {
    ClusterSnapshot.Node(
      id: try NodeID(validating: name),
      labels: labels,
      capacity: Resources(cpuMillis: cpu, memoryBytes: memory, gpus: gpus),
      allocated: allocated,
      slots: slots,
      tasks: tasks
    )
  }

  func task(
    _ index: UInt32,
    cpu: Int64 = 0,
    memory: Int64 = 0,
    gpus: Int32 = 0,
    selector: [String: String] = [:]
  ) -> PendingTask {
    PendingTask(
      id: TaskID(createdAt: .epoch, sequence: index),
      resources: Resources(cpuMillis: cpu, memoryBytes: memory, gpus: gpus),
      nodeSelector: selector
    )
  }

  @Test("a burst spreads over nodes, least loaded first")
  func spreads() throws {
    let snapshot = ClusterSnapshot(nodes: [try node("a", slots: 4), try node("b", slots: 4)])
    let placements = scheduler.place((0..<4).map { task($0) }, in: snapshot)
    let counts = Dictionary(grouping: placements, by: \.node.rawValue).mapValues(\.count)
    #expect(counts == ["a": 2, "b": 2])
  }

  @Test("an already busy node gets work last")
  func prefersIdle() throws {
    let snapshot = ClusterSnapshot(nodes: [
      try node("busy", slots: 4, tasks: 3), try node("idle", slots: 4),
    ])
    #expect(scheduler.place([task(0)], in: snapshot).map(\.node.rawValue) == ["idle"])
  }

  @Test("the node selector must match every label")
  func selector() throws {
    let snapshot = ClusterSnapshot(nodes: [
      try node("cpu", labels: ["kind": "cpu"]),
      try node("gpu", labels: ["kind": "gpu", "zone": "home"]),
    ])
    #expect(
      scheduler.place([task(0, selector: ["kind": "gpu", "zone": "home"])], in: snapshot)
        .map(\.node.rawValue) == ["gpu"]
    )
    #expect(scheduler.place([task(1, selector: ["kind": "tpu"])], in: snapshot).isEmpty)
    #expect(scheduler.place([task(2, selector: ["zone": "office"])], in: snapshot).isEmpty)
  }

  @Test("resources must fit what is free, counting earlier placements in the same pass")
  func resources() throws {
    let snapshot = ClusterSnapshot(nodes: [
      try node("a", cpu: 2000, memory: 1 << 30, allocated: Resources(cpuMillis: 500))
    ])
    let placements = scheduler.place(
      [task(0, cpu: 1000), task(1, cpu: 1000), task(2, cpu: 500), task(3, memory: 2 << 30)],
      in: snapshot
    )
    #expect(placements.map(\.task) == [task(0).id, task(2).id])
  }

  @Test("a task that fits nowhere does not block smaller ones behind it")
  func noHeadOfLineBlocking() throws {
    let snapshot = ClusterSnapshot(nodes: [try node("a", gpus: 0)])
    let placements = scheduler.place([task(0, gpus: 1), task(1)], in: snapshot)
    #expect(placements.map(\.task) == [task(1).id])
  }

  @Test("slots cap the number of tasks on a node")
  func slots() throws {
    let snapshot = ClusterSnapshot(nodes: [try node("a", slots: 2)])
    #expect(scheduler.place((0..<5).map { task($0) }, in: snapshot).count == 2)
  }

  @Test("extended resources are counted like the others")
  func extended() throws {
    var claude = try node("claude")
    claude.capacity.extended = ["tool/claude": 2]
    let snapshot = ClusterSnapshot(nodes: [try node("plain"), claude])
    let wants = (0..<3).map { index in
      PendingTask(
        id: TaskID(createdAt: .epoch, sequence: index),
        resources: Resources(extended: ["tool/claude": 1]),
        nodeSelector: [:]
      )
    }
    let placements = scheduler.place(wants, in: snapshot)
    #expect(placements.map(\.node.rawValue) == ["claude", "claude"])
  }

  @Test("seeded random clusters: nothing over-committed, every placement admissible")
  func randomClusters() throws {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<50 {
      let nodes = try (0..<Int.random(in: 1...8, using: &generator)).map { index in
        try node(
          "n\(index)",
          cpu: Int64.random(in: 1...8, using: &generator) * 1000,
          memory: Int64.random(in: 1...16, using: &generator) << 30,
          labels: ["zone": ["a", "b"].randomElement(using: &generator) ?? "a"],
          slots: Int32.random(in: 0...4, using: &generator)
        )
      }
      let tasks = (0..<UInt32.random(in: 0...40, using: &generator)).map { index in
        task(
          index,
          cpu: Int64.random(in: 0...4, using: &generator) * 500,
          memory: Int64.random(in: 0...4, using: &generator) << 29,
          selector: Bool.random(using: &generator) ? ["zone": "a"] : [:]
        )
      }
      let placements = scheduler.place(tasks, in: ClusterSnapshot(nodes: nodes))
      #expect(Set(placements.map(\.task)).count == placements.count)
      for original in nodes {
        let placed = placements.filter { $0.node == original.id }
          .compactMap { placement in tasks.first { $0.id == placement.task } }
        let used = placed.reduce(Resources.zero) { $0 + $1.resources }
        #expect(used.fits(in: original.capacity))
        #expect(original.slots == 0 || placed.count <= Int(original.slots))
        #expect(
          placed.allSatisfy { task in
            task.nodeSelector.allSatisfy { original.labels[$0.key] == $0.value }
          }
        )
      }
    }
  }
}

@Suite("LeastLoadedScheduler when full")
struct LeastLoadedSchedulerFullTests {
  @Test("with every slot taken nothing is placed; slot-less (unlimited) nodes keep taking work")
  func full() throws {
    let tasks = (0..<5).map {
      PendingTask(
        id: TaskID(createdAt: .epoch, sequence: UInt32($0)),
        resources: .zero,
        nodeSelector: [:]
      )
    }
    let busy = ClusterSnapshot.Node(
      id: try NodeID(validating: "busy"),
      labels: [:],
      capacity: Resources(cpuMillis: 1000),
      slots: 2,
      tasks: 2
    )
    #expect(LeastLoadedScheduler().place(tasks, in: ClusterSnapshot(nodes: [busy])).isEmpty)
    let unlimited = ClusterSnapshot.Node(
      id: try NodeID(validating: "open"),
      labels: [:],
      capacity: Resources(cpuMillis: 1000)
    )
    #expect(
      LeastLoadedScheduler().place(tasks, in: ClusterSnapshot(nodes: [busy, unlimited])).count == 5
    )
  }
}
