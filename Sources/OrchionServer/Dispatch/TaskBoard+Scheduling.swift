import OrchionCore
import OrchionScheduler

extension TaskBoard {
  /// Runs the scheduler over the pending queue and applies its decision against the board as it
  /// is now: placements become assignments, preemptions become stops of their victims.
  /// - Parameters:
  ///   - nodes: The nodes with a live agent stream, with status, cordon, capacity and labels.
  ///   - scheduler: The placement policy.
  mutating func schedule(
    nodes: [ClusterSnapshot.Node],
    scheduler: some Scheduler,
    now: UTCInstant,
    generator: inout some RandomNumberGenerator
  ) -> [ClusterAction] {
    guard !pending.isEmpty, !nodes.isEmpty else { return [] }
    var snapshot = snapshot(of: nodes)
    // Every slot taken and nothing to preempt (the usual state under load, when each finished
    // task triggers a pass): nothing can change, so do not build the queue at all.
    let lowestPreemptible = snapshot.nodes.lazy.flatMap(\.preemptible).map(\.priority).min()
    let mayPreempt = lowestPreemptible.map { (pending.highestPriority ?? 0) > $0 } ?? false
    guard
      mayPreempt
        || snapshot.nodes.contains(where: { $0.isSchedulable && $0.hasFreeSlot })
    else { return [] }
    snapshot.reserveQueuedBefore = now.advanced(by: .zero - limits.reserveAfter)
    let decision = scheduler.schedule(pending.tasks, in: snapshot)
    if let last = decision.roundRobinLast { roundRobinLast = last }
    var actions: [ClusterAction] = []
    for preemption in decision.preemptions {
      for victim in preemption.victims {
        actions += evict(victim, on: preemption.node, as: .preempted, for: preemption.task)
      }
    }
    for placement in decision.placements {
      if let action = assign(placement, now: now, generator: &generator) {
        actions.append(action)
      }
    }
    return actions
  }

  /// Puts an assignment that could not be delivered back in the queue, as if never placed.
  mutating func undeliverable(_ id: TaskID, attempt: AttemptID) {
    guard var task = tasks[id], task.attemptID == attempt, task.state == .assigned else { return }
    release(task)
    if task.attempts.last?.id == attempt { task.attempts.removeLast() }
    task.state = .pending
    task.attempt -= 1
    task.attemptID = task.attempts.last?.id
    task.message = "requeued: node went away before the assignment reached it"
    tasks[id] = task
    pending.insert(task)
  }

  /// Stops a placed task so its room goes to others (preemption) or its node empties (drain).
  /// Its attempt ends without counting against the task.
  mutating func evict(
    _ id: TaskID,
    on node: NodeID,
    as outcome: AttemptOutcome,
    for beneficiary: TaskID? = nil
  ) -> [ClusterAction] {
    guard var task = tasks[id], task.nodeID == node, task.eviction == nil,
      !task.cancelRequested, task.state == .assigned || task.state == .running,
      let attempt = task.attemptID
    else { return [] }
    let reason =
      switch outcome {
      case .preempted: "preempted by higher-priority task \(beneficiary.map(\.rawValue) ?? "")"
      default: "node \(node) is being drained"
      }
    task.eviction = outcome
    task.message = reason
    tasks[id] = task
    return [.stopAttempt(node, id, attempt, reason: reason)]
  }

  // MARK: Building the scheduler's view

  private func snapshot(of nodes: [ClusterSnapshot.Node]) -> ClusterSnapshot {
    var snapshot = ClusterSnapshot(nodes: nodes, roundRobinAfter: roundRobinLast)
    for index in snapshot.nodes.indices {
      guard let load = loads[snapshot.nodes[index].id] else { continue }
      snapshot.nodes[index].allocated = load.allocated
      snapshot.nodes[index].tasks = load.tasks.count
      for id in load.tasks {
        guard let task = tasks[id] else { continue }
        if let membership = task.membership, membership.spread {
          snapshot.nodes[index].distinctGroups.insert(membership.group.rawValue)
        }
        if task.eviction != nil || task.cancelRequested {
          snapshot.nodes[index].releasing = snapshot.nodes[index].releasing + task.spec.resources
          snapshot.nodes[index].releasingTasks += 1
        } else if task.spec.preemptible {
          snapshot.nodes[index].preemptible.append(
            RunningTask(id: id, priority: task.spec.priority, resources: task.spec.resources)
          )
        }
      }
    }
    return snapshot
  }

  private mutating func assign(
    _ placement: Placement,
    now: UTCInstant,
    generator: inout some RandomNumberGenerator
  ) -> ClusterAction? {
    guard var task = tasks[placement.task], task.state == .pending else { return nil }
    pending.remove(task.id, priority: task.spec.priority)
    let attemptID = AttemptID.random(using: &generator)
    task.state = .assigned
    task.nodeID = placement.node
    task.attempt += 1
    task.attemptID = attemptID
    task.exitCode = nil
    task.startedAt = nil
    task.message = ""
    // A result belongs with the node of the attempt that reported it (a resume goes there).
    task.agentResult = nil
    task.attempts.append(
      AttemptRecord(number: task.attempt, id: attemptID, node: placement.node, assignedAt: now)
    )
    if task.attempts.count > TaskRecord.maxRecordedAttempts { task.attempts.removeFirst() }
    tasks[task.id] = task
    var load = loads[placement.node] ?? NodeLoad()
    load.allocated = load.allocated + task.spec.resources
    load.tasks.insert(task.id)
    loads[placement.node] = load
    return .assign(
      placement.node,
      .init(task: task.id, attemptID: attemptID, attempt: task.attempt, spec: task.spec)
    )
  }
}
