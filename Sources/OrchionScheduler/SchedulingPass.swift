import OrchionCore

/// The working state of one ``StrategyScheduler`` pass: the nodes as tasks are placed on them,
/// which are still open, which are held, and what is already known not to fit.
struct SchedulingPass {
  /// What a task asks for, for remembering that it fit nowhere. Within one pass room only
  /// shrinks, so a shape that fit nowhere will not fit later in the pass either.
  private struct Shape: Hashable {
    var resources: Resources
    var selector: [String: String]
    var constraints: [LabelConstraint]
    var distinctGroup: String?

    init(_ task: PendingTask) {
      resources = task.resources
      selector = task.nodeSelector
      constraints = task.constraints
      distinctGroup = task.distinctGroup
    }
  }

  private let defaultStrategy: PlacementStrategy
  private let candidateLimit: Int
  /// Schedulable nodes, sorted by ID.
  private var nodes: [ClusterSnapshot.Node]
  /// The numbers of `nodes`, kept up to date as tasks are placed.
  private var rooms: [NodeRoom]
  private var matcher: LabelMatcher
  /// Nodes with a free slot that no task holds, in no particular order.
  private var open: [Int]
  /// Position of each node in `open`, or -1.
  private var openPosition: [Int]
  private var held: [Bool]
  private var unplaceable: Set<Shape> = []
  /// The highest priority at which a shape found nothing to preempt.
  private var unpreemptable: [Shape: Int32] = [:]
  private var spreadCursor = 0
  /// Nodes holding a member of each distinct group, as the pass places more.
  private var distinctTaken: [String: Set<Int>] = [:]
  /// Where binpack's scan starts: the last node it chose. Scanning from the start each time
  /// would pass over every nearly-full node for every task; starting here, binpack fills
  /// nodes in turn and comes back to their leftovers only after a full round.
  private var binpackCursor = 0
  /// The least CPU and memory any task in the queue asks for: a node with less free than that
  /// can take nothing more, so it leaves the open list.
  private let smallestRequest: (cpuMillis: Int64, memoryBytes: Int64)
  private var roundRobinCursor: Int
  private var reservationsLeft: Int
  private let reserveQueuedBefore: UTCInstant?
  /// The lowest priority among preemptible tasks: only a higher one may preempt.
  private var lowestPreemptible: Int32

  private(set) var decision = SchedulingDecision()

  init(
    snapshot: ClusterSnapshot,
    queue: [PendingTask],
    defaultStrategy: PlacementStrategy,
    candidateLimit: Int
  ) {
    self.defaultStrategy = defaultStrategy
    self.candidateLimit = candidateLimit
    let nodes = snapshot.nodes.filter(\.isSchedulable).sorted { $0.id < $1.id }
    self.nodes = nodes
    let rooms = nodes.map(NodeRoom.init)
    self.rooms = rooms
    matcher = LabelMatcher(labels: nodes.map(\.labels), ids: nodes.map(\.id))
    var smallest = (cpuMillis: Int64.max, memoryBytes: Int64.max)
    for task in queue {
      smallest.cpuMillis = min(smallest.cpuMillis, task.resources.cpuMillis)
      smallest.memoryBytes = min(smallest.memoryBytes, task.resources.memoryBytes)
    }
    smallestRequest = smallest
    open = rooms.indices.filter {
      rooms[$0].canTake(cpuMillis: smallest.cpuMillis, memoryBytes: smallest.memoryBytes)
    }
    openPosition = Array(repeating: -1, count: nodes.count)
    for (position, node) in open.enumerated() { openPosition[node] = position }
    held = Array(repeating: false, count: nodes.count)
    if let after = snapshot.roundRobinAfter {
      roundRobinCursor = nodes.firstIndex { $0.id > after } ?? 0
    } else {
      roundRobinCursor = 0
    }
    reservationsLeft = max(1, nodes.count / 10)
    reserveQueuedBefore = snapshot.reserveQueuedBefore
    lowestPreemptible =
      nodes.lazy.flatMap(\.preemptible).map(\.priority).min() ?? .max
    for (index, node) in nodes.enumerated() {
      for group in node.distinctGroups { distinctTaken[group, default: []].insert(index) }
    }
  }

  /// Whether a member of `task`'s distinct group is on `node` already.
  private func isTaken(_ task: PendingTask, on node: Int) -> Bool {
    guard let group = task.distinctGroup else { return false }
    return distinctTaken[group]?.contains(node) ?? false
  }

  // MARK: One task

  /// Places, preempts for or reserves for `task`.
  /// - Returns: false when no task after it (of no higher priority) can change anything: every
  ///   node is full and none of them may preempt. A reservation would hold nothing back then.
  mutating func schedule(_ task: PendingTask) -> Bool {
    let mayPreempt = task.priority > lowestPreemptible
    if open.isEmpty, !mayPreempt { return false }
    let shape = Shape(task)
    let table = matcher.table(for: task)
    if !open.isEmpty, !unplaceable.contains(shape) {
      if let node = choose(task, table: table) {
        place(task, on: node)
        return true
      }
      unplaceable.insert(shape)
    }
    if mayPreempt, (unpreemptable[shape] ?? -1) < task.priority {
      if makeRoom(for: task, table: table) { return true }
      unpreemptable[shape] = max(unpreemptable[shape] ?? -1, task.priority)
    }
    if task.reserve || (queuedAt(task, isAtOrBefore: reserveQueuedBefore)) {
      reserve(for: task, table: table)
    }
    return true
  }

  private func queuedAt(_ task: PendingTask, isAtOrBefore limit: UTCInstant?) -> Bool {
    guard let limit, let queuedAt = task.queuedAt else { return false }
    return queuedAt <= limit
  }

  // MARK: Choosing a node

  private mutating func admits(_ task: PendingTask, table: Int?, node: Int) -> Bool {
    guard rooms[node].fits(task.resources), !isTaken(task, on: node) else { return false }
    if !task.resources.extended.isEmpty,
      !task.resources.fits(in: nodes[node].capacity, besides: nodes[node].allocated)
    {
      return false
    }
    return matcher.accepts(task, table: table, node: node)
  }

  private mutating func choose(_ task: PendingTask, table: Int?) -> Int? {
    switch task.strategy ?? defaultStrategy {
    case .binpack:
      let start = binpackCursor < open.count ? binpackCursor : 0
      return best(task, table: table, from: start, prefer: Self.isFuller)
    case .spread:
      spreadCursor += 1
      return best(task, table: table, from: spreadCursor % open.count, prefer: Self.isEmptier)
    case .roundRobin:
      return nextInTurn(task, table: table)
    }
  }

  /// The preferred of the first `candidateLimit` feasible open nodes, scanning from `start`.
  private mutating func best(
    _ task: PendingTask,
    table: Int?,
    from start: Int,
    prefer: (NodeRoom, Int, NodeRoom, Int) -> Bool
  ) -> Int? {
    var best: Int?
    var found = 0
    let count = open.count
    var position = start
    for _ in 0..<count {
      let node = open[position]
      position += 1
      if position == count { position = 0 }
      guard admits(task, table: table, node: node) else { continue }
      found += 1
      if let current = best {
        if prefer(rooms[node], node, rooms[current], current) { best = node }
      } else {
        best = node
      }
      if candidateLimit > 0, found >= candidateLimit { break }
    }
    return best
  }

  private static func isFuller(
    _ lhs: NodeRoom,
    _ lhsIndex: Int,
    _ rhs: NodeRoom,
    _ rhsIndex: Int
  ) -> Bool {
    let (left, right) = (lhs.load, rhs.load)
    return left != right ? left > right : lhsIndex < rhsIndex
  }

  private static func isEmptier(
    _ lhs: NodeRoom,
    _ lhsIndex: Int,
    _ rhs: NodeRoom,
    _ rhsIndex: Int
  ) -> Bool {
    let (left, right) = (lhs.load, rhs.load)
    if left != right { return left < right }
    if lhs.tasks != rhs.tasks { return lhs.tasks < rhs.tasks }
    return lhsIndex < rhsIndex
  }

  private mutating func nextInTurn(_ task: PendingTask, table: Int?) -> Int? {
    guard !nodes.isEmpty else { return nil }
    var node = roundRobinCursor % nodes.count
    for _ in 0..<nodes.count {
      if !held[node], admits(task, table: table, node: node) {
        roundRobinCursor = node + 1
        return node
      }
      node = node + 1 == nodes.count ? 0 : node + 1
    }
    return nil
  }

  // MARK: Applying

  private mutating func place(_ task: PendingTask, on node: Int) {
    nodes[node].allocated = nodes[node].allocated + task.resources
    nodes[node].tasks += 1
    rooms[node].take(task.resources)
    if (task.strategy ?? defaultStrategy) == .binpack { binpackCursor = max(0, openPosition[node]) }
    let room = rooms[node]
    if !room.canTake(
      cpuMillis: smallestRequest.cpuMillis,
      memoryBytes: smallestRequest.memoryBytes
    ) {
      close(node)
    }
    if let group = task.distinctGroup { distinctTaken[group, default: []].insert(node) }
    decision.placements.append(Placement(task: task.id, node: nodes[node].id))
    if (task.strategy ?? defaultStrategy) == .roundRobin {
      decision.roundRobinLast = nodes[node].id
    }
  }

  /// Takes a node out of consideration for the rest of the pass.
  private mutating func close(_ node: Int) {
    let position = openPosition[node]
    guard position >= 0 else { return }
    let last = open.removeLast()
    if last != node {
      open[position] = last
      openPosition[last] = position
    }
    openPosition[node] = -1
  }

  private mutating func hold(_ node: Int) {
    held[node] = true
    close(node)
  }

  // MARK: Preemption and reservation

  /// Finds the node where evicting the fewest lower-priority preemptible tasks (counting tasks
  /// already being stopped) makes room for `task`, evicts them and holds the node. False when
  /// there is none.
  private mutating func makeRoom(for task: PendingTask, table: Int?) -> Bool {
    var bestPlan: (node: Int, victims: [RunningTask], worst: Int32)?
    for node in nodes.indices where !held[node] {
      let candidate = nodes[node]
      guard !isTaken(task, on: node), task.resources.fits(in: candidate.capacity, besides: .zero),
        matcher.accepts(task, table: table, node: node),
        let victims = Self.victims(on: candidate, for: task)
      else { continue }
      let worst = victims.map(\.priority).max() ?? -1
      if let plan = bestPlan,
        (plan.victims.count, plan.worst) <= (victims.count, worst)
      {
        continue
      }
      bestPlan = (node, victims, worst)
      if victims.isEmpty { break }
    }
    guard let plan = bestPlan else { return false }
    let evicted = Set(plan.victims.map(\.id))
    nodes[plan.node].preemptible.removeAll { evicted.contains($0.id) }
    for victim in plan.victims {
      nodes[plan.node].releasing = nodes[plan.node].releasing + victim.resources
    }
    nodes[plan.node].releasingTasks += plan.victims.count
    hold(plan.node)
    if plan.victims.isEmpty {
      // Room is already being made: wait for it instead of evicting more.
      decision.reservations.append(Placement(task: task.id, node: nodes[plan.node].id))
    } else {
      decision.preemptions.append(
        Preemption(task: task.id, node: nodes[plan.node].id, victims: plan.victims.map(\.id))
      )
    }
    return true
  }

  /// The fewest preemptible tasks of lower priority on `node` whose eviction (with what is
  /// already being stopped there) makes room for `task`, lowest priority and newest first;
  /// `nil` when even all of them would not.
  private static func victims(on node: ClusterSnapshot.Node, for task: PendingTask)
    -> [RunningTask]?
  {
    var allocated = node.allocated - node.releasing
    var tasks = node.tasks - node.releasingTasks
    func fits() -> Bool {
      (node.slots == 0 || tasks < Int(node.slots))
        && task.resources.fits(in: node.capacity, besides: allocated)
    }
    if fits() { return [] }
    let candidates = node.preemptible
      .filter { $0.priority < task.priority }
      .sorted { $0.priority != $1.priority ? $0.priority < $1.priority : $0.id > $1.id }
    var victims: [RunningTask] = []
    for candidate in candidates {
      victims.append(candidate)
      allocated = allocated - candidate.resources
      tasks -= 1
      if fits() { return victims }
    }
    return nil
  }

  /// Holds the least-loaded node that could ever take `task`, so it empties for it.
  private mutating func reserve(for task: PendingTask, table: Int?) {
    guard reservationsLeft > 0 else { return }
    var best: Int?
    for node in nodes.indices where !held[node] {
      guard !isTaken(task, on: node), task.resources.fits(in: nodes[node].capacity, besides: .zero),
        matcher.accepts(task, table: table, node: node)
      else { continue }
      if let current = best, !Self.isEmptier(rooms[node], node, rooms[current], current) {
        continue
      }
      best = node
    }
    guard let best else { return }
    reservationsLeft -= 1
    hold(best)
    decision.reservations.append(Placement(task: task.id, node: nodes[best].id))
  }
}
