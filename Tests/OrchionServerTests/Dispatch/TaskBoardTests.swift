import OrchionCore
import OrchionScheduler
import Testing

@testable import OrchionServer

@Suite("TaskBoard lifecycle")
struct TaskBoardTests {
  let now = UTCInstant(nanosecondsSinceEpoch: 1_700_000_000_000_000_000)
  var generator = SystemRandomNumberGenerator()

  func board(retained: Int = 100, maxLost: Int32 = 2) -> TaskBoard {
    TaskBoard(limits: .init(retainedFinishedTasks: retained, maxLostAttempts: maxLost))
  }

  func node(_ name: String, slots: Int32 = 4, labels: [String: String] = [:]) throws
    -> ClusterSnapshot.Node
  {
    ClusterSnapshot.Node(
      id: try NodeID(validating: name),
      labels: labels,
      capacity: Resources(cpuMillis: 4000, memoryBytes: 8 << 30),
      slots: slots
    )
  }

  /// Schedules and returns the assignments made.
  mutating func schedule(
    _ board: inout TaskBoard,
    on nodes: [ClusterSnapshot.Node],
    at time: UTCInstant? = nil
  ) -> [(NodeID, ClusterAction.Assignment)] {
    board.schedule(
      nodes: nodes,
      scheduler: StrategyScheduler(strategy: .spread),
      now: time ?? now,
      generator: &generator
    )
    .compactMap { action in
      if case .assign(let node, let assignment) = action { return (node, assignment) }
      return nil
    }
  }

  func report(
    _ assignment: ClusterAction.Assignment,
    _ state: TaskState,
    exit: Int32? = nil
  ) -> AttemptReport {
    AttemptReport(
      task: assignment.task,
      attempt: assignment.attemptID,
      state: state,
      exitCode: exit,
      message: state == .failed ? "exited with code \(exit ?? 1)" : "",
      time: now
    )
  }

  @Test("submit → assigned → running → succeeded, resources reserved then released")
  mutating func happyPath() throws {
    var board = board()
    let task = board.submit(
      TaskSpec(command: ["true"], resources: Resources(cpuMillis: 1000)),
      now: now
    )
    #expect(task.state == .pending)
    let node = try node("a")
    let assignments = schedule(&board, on: [node])
    #expect(assignments.count == 1)
    let (placed, assignment) = try #require(assignments.first)
    #expect(placed == node.id)
    #expect(try board.task(task.id).state == .assigned)
    #expect(board.usage(of: node.id) == NodeUsage(allocated: Resources(cpuMillis: 1000), tasks: 1))
    _ = board.report(report(assignment, .running), from: node.id, now: now)
    #expect(try board.task(task.id).state == .running)
    let actions = board.report(report(assignment, .succeeded, exit: 0), from: node.id, now: now)
    #expect(actions.contains { if case .finished(task.id) = $0 { true } else { false } })
    let done = try board.task(task.id)
    #expect(done.state == .succeeded)
    #expect(done.exitCode == 0)
    #expect(done.finishedAt == now)
    #expect(board.usage(of: node.id) == .none)
  }

  @Test("a failed attempt is retried while attempts remain, then the task fails")
  mutating func retries() throws {
    var board = board()
    let task = board.submit(TaskSpec(command: ["false"], maxAttempts: 2), now: now)
    let node = try node("a")
    let first = try #require(schedule(&board, on: [node]).first).1
    _ = board.report(report(first, .failed, exit: 1), from: node.id, now: now)
    #expect(try board.task(task.id).state == .pending)
    #expect(try board.task(task.id).message.contains("retrying in 1s"))
    #expect(try board.task(task.id).notBefore == now.advanced(by: .seconds(1)))
    // Not before the backoff is over.
    #expect(schedule(&board, on: [node]).isEmpty)
    #expect(board.nextWakeUp == now.advanced(by: .seconds(1)))
    #expect(board.tick(now: now.advanced(by: .milliseconds(999))).queued == false)
    #expect(board.tick(now: now.advanced(by: .seconds(1))).queued)
    let second = try #require(schedule(&board, on: [node]).first).1
    #expect(second.attempt == 2)
    #expect(second.attemptID != first.attemptID)
    _ = board.report(report(second, .failed, exit: 3), from: node.id, now: now)
    let failed = try board.task(task.id)
    #expect(failed.state == .failed)
    #expect(failed.exitCode == 3)
  }

  @Test("reports from a stale attempt are rejected and the agent told to stop it")
  mutating func staleReports() throws {
    var board = board()
    let task = board.submit(TaskSpec(command: ["sleep", "9"]), now: now)
    let a = try node("a")
    let b = try node("b")
    let first = try #require(schedule(&board, on: [a]).first).1
    _ = board.nodeLost(a.id, now: now)
    let second = try #require(schedule(&board, on: [b]).first).1
    // Node a comes back and reports its old attempt running: it must stop it.
    let actions = board.report(report(first, .running), from: a.id, now: now)
    #expect(
      actions.contains {
        if case .stop(a.id, task.id, first.attemptID, _, _) = $0 { true } else { false }
      }
    )
    // Its success would be a duplicate: ignored.
    _ = board.report(report(first, .succeeded, exit: 0), from: a.id, now: now)
    #expect(try board.task(task.id).state == .assigned)
    #expect(try board.task(task.id).attemptID == second.attemptID)
  }

  @Test("node loss requeues without using an attempt, up to the cap")
  mutating func nodeLoss() throws {
    var board = board(maxLost: 2)
    let task = board.submit(TaskSpec(command: ["sleep", "9"]), now: now)
    let a = try node("a")
    for round in 1...3 {
      _ = try #require(schedule(&board, on: [a]).first)
      _ = board.nodeLost(a.id, now: now)
      let state = try board.task(task.id).state
      #expect(state == (round <= 2 ? .pending : .failed), "round \(round)")
    }
    #expect(try board.task(task.id).message.contains("lost 3 times"))
  }

  @Test("cancel: pending at once; placed once the agent confirms; finished unchanged")
  mutating func cancel() throws {
    var board = board()
    let pending = board.submit(TaskSpec(command: ["true"]), now: now)
    let (cancelled, _) = try board.cancel(pending.id, now: now)
    #expect(cancelled.state == .cancelled)
    #expect(schedule(&board, on: [try node("a")]).isEmpty)

    let running = board.submit(TaskSpec(command: ["sleep", "9"]), now: now)
    let a = try node("a")
    let assignment = try #require(schedule(&board, on: [a]).first).1
    let (cancelling, actions) = try board.cancel(running.id, now: now)
    #expect(cancelling.state == .assigned)
    #expect(actions.contains { if case .stop(_, _, _, .cancelled, _) = $0 { true } else { false } })
    _ = board.report(report(assignment, .cancelled, exit: 143), from: a.id, now: now)
    #expect(try board.task(running.id).state == .cancelled)
    let (again, noActions) = try board.cancel(running.id, now: now)
    #expect(again.state == .cancelled)
    #expect(noActions.isEmpty)
  }

  @Test("reconcile: attempts the agent no longer runs are requeued; unknown ones are stopped")
  mutating func reconcile() throws {
    var board = board()
    let kept = board.submit(TaskSpec(command: ["a"]), now: now)
    let lost = board.submit(TaskSpec(command: ["b"]), now: now)
    let a = try node("a")
    let assignments = schedule(&board, on: [a]).map(\.1)
    let keptAttempt = try #require(assignments.first { $0.task == kept.id })
    let stranger = try AttemptID(validating: "a-unknown")
    let actions = board.reconcile(
      node: a.id,
      running: [(kept.id, keptAttempt.attemptID), (lost.id, stranger)],
      now: now
    )
    #expect(try board.task(kept.id).state == .assigned)
    #expect(try board.task(lost.id).state == .pending)
    #expect(
      actions.contains { if case .stop(_, lost.id, stranger, _, _) = $0 { true } else { false } }
    )
  }

  @Test("an agent handing a task back (PENDING) requeues it without using an attempt")
  mutating func handedBack() throws {
    var board = board()
    let task = board.submit(TaskSpec(command: ["x"]), now: now)
    let a = try node("a")
    let assignment = try #require(schedule(&board, on: [a]).first).1
    _ = board.report(report(assignment, .pending), from: a.id, now: now)
    let requeued = try board.task(task.id)
    #expect(requeued.state == .pending)
    #expect(requeued.failedAttempts == 0)
  }

  @Test("priority first, then oldest first; a task that fits nowhere does not block others")
  mutating func queueOrder() throws {
    var board = board()
    let low = board.submit(TaskSpec(command: ["low"], priority: 10), now: now)
    let huge = board.submit(
      TaskSpec(command: ["huge"], resources: Resources(gpus: 8), priority: 90),
      now: now
    )
    let high = board.submit(TaskSpec(command: ["high"], priority: 90), now: now)
    let assignments = schedule(&board, on: [try node("a", slots: 1)]).map(\.1.task)
    #expect(assignments == [high.id])
    _ = low
    #expect(try board.task(huge.id).state == .pending)
  }

  @Test("listing is newest first, filtered, and paginated with stable tokens")
  mutating func listing() throws {
    var board = board()
    var ids: [TaskID] = []
    for index in 0..<25 {
      ids.append(
        board.submit(
          TaskSpec(command: ["t\(index)"]),
          now: now.advanced(by: .milliseconds(Int64(index)))
        ).id
      )
    }
    var seen: [TaskID] = []
    var token: TaskID?
    repeat {
      let page = board.list(state: nil, node: nil, pageSize: 10, after: token)
      seen += page.tasks.map(\.id)
      token = page.next
    } while token != nil
    #expect(seen == ids.reversed())
    _ = try board.cancel(ids[3], now: now)
    #expect(
      board.list(state: .cancelled, node: nil, pageSize: 10, after: nil).tasks.map(\.id) == [ids[3]]
    )
  }

  @Test("finished tasks beyond the retention limit are forgotten, oldest first, with their logs")
  mutating func retention() throws {
    var board = board(retained: 2)
    let ids = (0..<4).map { index in board.submit(TaskSpec(command: ["t\(index)"]), now: now).id }
    var evicted: [TaskID] = []
    for id in ids {
      let (_, _) = try board.cancel(id, now: now)
    }
    // Cancelling a pending task finishes it; the first two were evicted along the way.
    evicted = ids.filter { (try? board.task($0)) == nil }
    #expect(evicted == Array(ids.prefix(2)))
    let forgotten = #expect(throws: OrchionError.self) { try board.task(ids[0]) }
    #expect(forgotten?.code == .notFound)
  }
}
