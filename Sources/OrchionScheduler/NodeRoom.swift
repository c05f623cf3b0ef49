import OrchionCore

/// What the scheduler's inner loop needs to know about a node — free CPU, memory, GPUs and
/// slots, and how full it is — as plain numbers. Checking a task against this costs a few
/// comparisons; the full ``ClusterSnapshot/Node`` (labels, named resources) is read only when a
/// task needs it.
struct NodeRoom {
  private(set) var freeCPU: Int64
  private(set) var freeMemory: Int64
  private(set) var freeGPUs: Int64
  /// `Int.max` when the node has no slot limit.
  private(set) var freeSlots: Int
  private(set) var tasks: Int
  /// 0 (idle) to 1 (full): the fullest of CPU, memory, GPUs and slots.
  private(set) var load: Double
  private let totalCPU: Int64
  private let totalMemory: Int64
  private let totalGPUs: Int64
  private let slots: Int

  init(_ node: ClusterSnapshot.Node) {
    totalCPU = node.capacity.cpuMillis
    totalMemory = node.capacity.memoryBytes
    totalGPUs = Int64(node.capacity.gpus)
    slots = Int(node.slots)
    freeCPU = totalCPU - node.allocated.cpuMillis
    freeMemory = totalMemory - node.allocated.memoryBytes
    freeGPUs = totalGPUs - Int64(node.allocated.gpus)
    tasks = node.tasks
    freeSlots = slots == 0 ? .max : slots - node.tasks
    load = 0
    load = computeLoad()
  }

  /// Whether CPU, memory, GPUs and a slot are free for `resources` (named resources aside).
  @inline(__always)
  func fits(_ resources: Resources) -> Bool {
    freeSlots > 0 && resources.cpuMillis <= freeCPU && resources.memoryBytes <= freeMemory
      && Int64(resources.gpus) <= freeGPUs
  }

  /// Whether at least `cpuMillis` and `memoryBytes` and a slot are free.
  func canTake(cpuMillis: Int64, memoryBytes: Int64) -> Bool {
    freeSlots > 0 && freeCPU >= cpuMillis && freeMemory >= memoryBytes
  }

  mutating func take(_ resources: Resources) {
    freeCPU -= resources.cpuMillis
    freeMemory -= resources.memoryBytes
    freeGPUs -= Int64(resources.gpus)
    if freeSlots != .max { freeSlots -= 1 }
    tasks += 1
    load = computeLoad()
  }

  private func computeLoad() -> Double {
    func fraction(_ free: Int64, _ total: Int64) -> Double {
      total > 0 ? Double(total - free) / Double(total) : 0
    }
    return max(
      fraction(freeCPU, totalCPU),
      fraction(freeMemory, totalMemory),
      fraction(freeGPUs, totalGPUs),
      slots > 0 ? Double(tasks) / Double(slots) : 0
    )
  }
}
