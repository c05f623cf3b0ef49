import OrchionCore

extension TaskBoard {
  /// Applies a status report from `node`. Reports from an attempt that is not the task's
  /// current one on that node are stale: the agent is told to stop it, and nothing changes (so
  /// a task's success is recorded once, by its current attempt).
  mutating func report(_ report: AttemptReport, from node: NodeID, now: UTCInstant)
    -> [ClusterAction]
  {
    guard var task = tasks[report.task], task.attemptID == report.attempt, task.nodeID == node,
      task.state == .assigned || task.state == .running
    else {
      if report.state.isTerminal || report.state == .pending { return [] }
      return [
        .stopAttempt(node, report.task, report.attempt, reason: ClusterAction.staleReason)
      ]
    }
    if let agentResult = report.agentResult {
      task.agentResult = agentResult
      tasks[task.id] = task
    }
    switch report.state {
    case .running: return running(task, report: report)
    case .succeeded:
      tasks[task.id]?.exitCode = report.exitCode
      closeAttempt(
        of: task.id,
        as: .succeeded,
        termination: report.termination ?? .exited,
        exitCode: report.exitCode,
        reason: report.message,
        now: now
      )
      return finish(task.id, as: .succeeded, message: report.message, now: now)
    case .failed: return failed(task, report: report, now: now)
    case .cancelled:
      tasks[task.id]?.exitCode = report.exitCode
      if task.cancelRequested { return cancelledByRequest(task.id, now: now) }
      if task.eviction != nil { return evicted(task, now: now) }
      return lost(task.id, message: "stopped by its agent (\(report.message))", now: now)
    case .pending:
      if task.eviction != nil { return evicted(task, now: now) }
      return returned(task.id, message: "returned by its agent (\(report.message))", now: now)
    case .assigned:
      return []
    }
  }

  private mutating func running(_ task: TaskRecord, report: AttemptReport) -> [ClusterAction] {
    guard let node = task.nodeID else { return [] }
    var task = task
    if task.state == .assigned {
      task.state = .running
      task.startedAt = report.time
      if !task.cancelRequested, task.eviction == nil { task.message = "" }
      task.updateCurrentAttempt { $0.startedAt = report.time }
      tasks[task.id] = task
    }
    // A cancel or eviction that crossed the assignment on the wire: say it again.
    if task.cancelRequested || task.eviction != nil {
      return [
        .stopAttempt(
          node,
          task.id,
          report.attempt,
          reason: Self.stopReason(of: task)
        )
      ]
    }
    return []
  }

  private mutating func failed(_ task: TaskRecord, report: AttemptReport, now: UTCInstant)
    -> [ClusterAction]
  {
    var task = task
    task.exitCode = report.exitCode
    task.failedAttempts += 1
    tasks[task.id] = task
    closeAttempt(
      of: task.id,
      as: .failed,
      termination: report.termination ?? (report.exitCode == nil ? .spawnerDied : .exited),
      exitCode: report.exitCode,
      reason: report.message,
      now: now
    )
    if task.cancelRequested {
      return finish(task.id, as: .cancelled, message: "cancelled by request", now: now)
    }
    guard task.failedAttempts < task.spec.maxAttempts else {
      return finish(task.id, as: .failed, message: report.message, now: now)
    }
    guard task.spec.retry.retries(exitCode: report.exitCode) else {
      let code = report.exitCode.map { "exit code \($0)" } ?? "a failure without an exit code"
      return finish(
        task.id,
        as: .failed,
        message: "\(report.message); not retried: \(code) is not in retry_exit_codes",
        now: now
      )
    }
    let delay = task.spec.retry.delay(beforeRetry: task.failedAttempts)
    return requeue(
      task.id,
      message:
        "attempt \(task.attempt) failed (\(report.message)); retrying in \(DurationFormat.format(delay))",
      now: now,
      delay: delay
    )
  }

  /// The current attempt ended after a cancel was asked for: it and the task are CANCELLED.
  private mutating func cancelledByRequest(_ id: TaskID, now: UTCInstant) -> [ClusterAction] {
    let reason = "cancelled by request"
    closeAttempt(of: id, as: .cancelled, termination: .cancelled, reason: reason, now: now)
    return finish(id, as: .cancelled, message: reason, now: now)
  }

  /// Why the orchestrator wants a task's current attempt stopped (cancel or eviction).
  private static func stopReason(of task: TaskRecord) -> String {
    task.cancelRequested ? "cancelled by request" : task.message
  }

  /// An attempt the orchestrator stopped to make room (preemption) or empty a node (drain) has
  /// ended: the task goes back to the queue without using up an attempt.
  private mutating func evicted(_ task: TaskRecord, now: UTCInstant) -> [ClusterAction] {
    if task.cancelRequested { return cancelledByRequest(task.id, now: now) }
    let outcome = task.eviction ?? .lost
    closeAttempt(
      of: task.id,
      as: outcome,
      termination: outcome == .preempted ? .preempted : outcome == .drained ? .drained : .lost,
      reason: task.message,
      now: now
    )
    return requeue(task.id, message: task.message + "; requeued", now: now)
  }

  /// Whether logs from `attempt` of `task` on `node` belong to the task's current attempt.
  func acceptsLogs(task id: TaskID, attempt: AttemptID, from node: NodeID) -> Bool {
    guard let task = tasks[id] else { return false }
    return task.attemptID == attempt && task.nodeID == node
  }

  // MARK: Node events

  /// A node reconnected and says which attempts it runs. Those that are not current are
  /// stopped; current ones it no longer runs were lost (its agent restarted, or it stopped them
  /// itself after losing the orchestrator) and are requeued.
  mutating func reconcile(
    node: NodeID,
    running: [(task: TaskID, attempt: AttemptID)],
    now: UTCInstant
  ) -> [ClusterAction] {
    var actions: [ClusterAction] = []
    var reported = Set<TaskID>()
    for (id, attempt) in running {
      if let task = tasks[id], task.attemptID == attempt, task.nodeID == node,
        task.state == .assigned || task.state == .running
      {
        reported.insert(id)
        if task.cancelRequested || task.eviction != nil {
          actions.append(
            .stopAttempt(
              node,
              id,
              attempt,
              reason: Self.stopReason(of: task)
            )
          )
        }
      } else {
        actions.append(
          .stopAttempt(node, id, attempt, reason: ClusterAction.staleReason)
        )
      }
    }
    for task in placedTasks(on: node) where !reported.contains(task.id) {
      actions +=
        task.eviction != nil
        ? evicted(task, now: now) : lost(task.id, message: "its agent no longer runs it", now: now)
    }
    return actions
  }

  /// A node is gone: its attempts are lost and their tasks requeued.
  mutating func nodeLost(_ node: NodeID, now: UTCInstant) -> [ClusterAction] {
    var actions: [ClusterAction] = []
    for task in placedTasks(on: node) {
      actions +=
        task.eviction != nil
        ? evicted(task, now: now) : lost(task.id, message: "node \(node) was lost", now: now)
    }
    drains[node] = nil
    return actions
  }
}
