import OrchionCore
import OrchionScheduler

/// Builders for scheduler tests: nodes and tasks by short names.
enum Fixtures {
  static func node(
    _ name: String,
    cpu: Int64 = 4000,
    memory: Int64 = 8 << 30,
    gpus: Int32 = 0,
    extended: [String: Int64] = [:],
    labels: [String: String] = [:],
    slots: Int32 = 0,
    allocated: Resources = .zero,
    tasks: Int = 0,
    status: NodeStatus = .active,
    cordoned: Bool = false,
    preemptible: [RunningTask] = []
  ) -> ClusterSnapshot.Node {
    ClusterSnapshot.Node(
      id: nodeID(name),
      status: status,
      cordoned: cordoned,
      labels: labels,
      capacity: Resources(cpuMillis: cpu, memoryBytes: memory, gpus: gpus, extended: extended),
      allocated: allocated,
      slots: slots,
      tasks: tasks,
      preemptible: preemptible
    )
  }

  static func nodeID(_ name: String) -> NodeID {
    guard let id = try? NodeID(validating: name) else { fatalError("bad node name \(name)") }
    return id
  }

  static func taskID(_ index: UInt32) -> TaskID {
    TaskID(createdAt: .epoch, sequence: index)
  }

  static func task(
    _ index: UInt32,
    cpu: Int64 = 0,
    memory: Int64 = 0,
    gpus: Int32 = 0,
    extended: [String: Int64] = [:],
    selector: [String: String] = [:],
    constraints: [String] = [],
    priority: Int32 = 50,
    strategy: PlacementStrategy? = nil,
    reserve: Bool = false
  ) -> PendingTask {
    PendingTask(
      id: taskID(index),
      resources: Resources(cpuMillis: cpu, memoryBytes: memory, gpus: gpus, extended: extended),
      nodeSelector: selector,
      constraints: constraints.map {
        guard let constraint = try? LabelConstraint(parsing: $0, field: "test") else {
          fatalError("bad constraint \($0)")
        }
        return constraint
      },
      priority: priority,
      strategy: strategy,
      reserve: reserve
    )
  }

  static func running(_ index: UInt32, cpu: Int64, priority: Int32) -> RunningTask {
    RunningTask(id: taskID(index), priority: priority, resources: Resources(cpuMillis: cpu))
  }
}

extension SchedulingDecision {
  /// Placements as "task index -> node name", e.g. `[0: "a"]`.
  var byTask: [UInt32: String] {
    Dictionary(
      uniqueKeysWithValues: placements.map { placement in
        (Fixtures.taskIndex(placement.task), placement.node.rawValue)
      }
    )
  }
}

extension Fixtures {
  static func taskIndex(_ id: TaskID) -> UInt32 {
    guard let index = UInt32(id.rawValue.suffix(8), radix: 16) else {
      fatalError("unknown task \(id)")
    }
    return index
  }
}
