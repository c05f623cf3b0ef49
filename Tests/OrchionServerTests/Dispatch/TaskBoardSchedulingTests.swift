import OrchionCore
import OrchionScheduler
import Testing

@testable import OrchionServer

@Suite("TaskBoard: retries, attempts, preemption, drain, reservation")
struct TaskBoardSchedulingTests {
  let now = UTCInstant(nanosecondsSinceEpoch: 1_700_000_000_000_000_000)
  var generator = SystemRandomNumberGenerator()

  func board() -> TaskBoard {
    TaskBoard(
      limits: .init(retainedFinishedTasks: 100, maxLostAttempts: 2, reserveAfter: .seconds(60))
    )
  }

  func node(_ name: String, cpu: Int64 = 4000, slots: Int32 = 4) -> ClusterSnapshot.Node {
    ClusterSnapshot.Node(
      id: Self.nodeID(name),
      capacity: Resources(cpuMillis: cpu, memoryBytes: 8 << 30),
      slots: slots
    )
  }

  static func nodeID(_ name: String) -> NodeID {
    guard let id = try? NodeID(validating: name) else { fatalError("bad node name \(name)") }
    return id
  }

  mutating func schedule(
    _ board: inout TaskBoard,
    on nodes: [ClusterSnapshot.Node],
    at time: UTCInstant? = nil
  ) -> [ClusterAction] {
    board.schedule(
      nodes: nodes,
      scheduler: StrategyScheduler(),
      now: time ?? now,
      generator: &generator
    )
  }

  static func assignments(_ actions: [ClusterAction]) -> [(NodeID, ClusterAction.Assignment)] {
    actions.compactMap { action in
      if case .assign(let node, let assignment) = action { return (node, assignment) }
      return nil
    }
  }

  static func stops(_ actions: [ClusterAction]) -> [(NodeID, TaskID, String)] {
    actions.compactMap { action in
      if case .stop(let node, let task, _, _, let reason) = action { return (node, task, reason) }
      return nil
    }
  }

  func report(
    _ assignment: ClusterAction.Assignment,
    _ state: TaskState,
    exit: Int32? = nil,
    at time: UTCInstant? = nil
  ) -> AttemptReport {
    AttemptReport(
      task: assignment.task,
      attempt: assignment.attemptID,
      state: state,
      exitCode: exit,
      message: state == .failed ? "exited with code \(exit ?? 1)" : "",
      time: time ?? now
    )
  }

  @Test("only listed exit codes retry; another code fails the task at once")
  mutating func retryExitCodes() throws {
    var board = board()
    let spec = TaskSpec(command: ["x"], maxAttempts: 5, retry: RetryPolicy(exitCodes: [75]))
    let task = board.submit(spec, now: now)
    let a = node("a")
    let first = try #require(Self.assignments(schedule(&board, on: [a])).first).1
    _ = board.report(report(first, .failed, exit: 75), from: a.id, now: now)
    #expect(try board.task(task.id).state == .pending)
    _ = board.tick(now: now.advanced(by: .seconds(1)))
    let second = try #require(Self.assignments(schedule(&board, on: [a])).first).1
    _ = board.report(report(second, .failed, exit: 2), from: a.id, now: now)
    let failed = try board.task(task.id)
    #expect(failed.state == .failed)
    #expect(failed.message.contains("not retried: exit code 2"))
  }

  @Test("retry delays double from the backoff and stop at the cap")
  mutating func backoffGrows() throws {
    var board = board()
    let spec = TaskSpec(
      command: ["x"],
      maxAttempts: 6,
      retry: RetryPolicy(backoff: .seconds(2), maxBackoff: .seconds(5))
    )
    let task = board.submit(spec, now: now)
    let a = node("a")
    var time = now
    var delays: [Duration] = []
    for _ in 1...4 {
      let assignment = try #require(Self.assignments(schedule(&board, on: [a], at: time)).first).1
      _ = board.report(report(assignment, .failed, exit: 1), from: a.id, now: time)
      let notBefore = try #require(try board.task(task.id).notBefore)
      delays.append(time.duration(to: notBefore))
      time = notBefore
      #expect(board.tick(now: time).queued)
    }
    #expect(delays == [.seconds(2), .seconds(4), .seconds(5), .seconds(5)])
  }

  @Test("every attempt is recorded: node, times, outcome, exit code, reason")
  mutating func attemptRecords() throws {
    var board = board()
    let task = board.submit(TaskSpec(command: ["x"], maxAttempts: 3), now: now)
    let (a, b) = (node("a"), node("b"))
    let first = try #require(Self.assignments(schedule(&board, on: [a])).first).1
    _ = board.report(report(first, .running), from: a.id, now: now)
    _ = board.nodeLost(a.id, now: now.advanced(by: .seconds(3)))
    let second = try #require(Self.assignments(schedule(&board, on: [b])).first).1
    _ = board.report(report(second, .running), from: b.id, now: now)
    _ = board.report(report(second, .failed, exit: 9), from: b.id, now: now)
    _ = board.tick(now: now.advanced(by: .seconds(10)))
    let third = try #require(Self.assignments(schedule(&board, on: [b])).first).1
    _ = board.report(report(third, .succeeded, exit: 0), from: b.id, now: now)

    let attempts = try board.task(task.id).attempts
    #expect(attempts.map(\.number) == [1, 2, 3])
    #expect(attempts.map(\.node.rawValue) == ["a", "b", "b"])
    #expect(attempts.map(\.outcome) == [.lost, .failed, .succeeded])
    #expect(attempts.map(\.exitCode) == [nil, 9, 0])
    #expect(attempts[0].reason.contains("node a was lost"))
    #expect(attempts[0].finishedAt == now.advanced(by: .seconds(3)))
    #expect(attempts[0].startedAt == now)
    #expect(attempts.map(\.id) == [first.attemptID, second.attemptID, third.attemptID])
    // The lost attempt did not count: two of three attempts used.
    #expect(try board.task(task.id).failedAttempts == 1)
  }

  @Test(
    "preemption: the victim is stopped and requeued without using an attempt; the preemptor runs once room is free"
  )
  mutating func preemption() throws {
    var board = board()
    let a = node("a", cpu: 2000, slots: 2)
    let low = board.submit(
      TaskSpec(
        command: ["x"],
        resources: Resources(cpuMillis: 2000),
        priority: 10,
        preemptible: true
      ),
      now: now
    )
    let lowAssignment = try #require(Self.assignments(schedule(&board, on: [a])).first).1
    _ = board.report(report(lowAssignment, .running), from: a.id, now: now)

    let high = board.submit(
      TaskSpec(command: ["x"], resources: Resources(cpuMillis: 2000), priority: 90),
      now: now
    )
    let actions = schedule(&board, on: [a])
    #expect(Self.assignments(actions).isEmpty)
    let stops = Self.stops(actions)
    #expect(stops.map(\.1) == [low.id])
    #expect(stops.first?.2.contains("preempted by higher-priority task \(high.id)") == true)
    // While the victim is being stopped nothing more is evicted or placed.
    #expect(schedule(&board, on: [a]).isEmpty)

    _ = board.report(report(lowAssignment, .cancelled), from: a.id, now: now)
    let evicted = try board.task(low.id)
    #expect(evicted.state == .pending)
    #expect(evicted.failedAttempts == 0 && evicted.lostAttempts == 0)
    #expect(evicted.attempts.last?.outcome == .preempted)

    let next = Self.assignments(schedule(&board, on: [a]))
    #expect(next.map(\.1.task) == [high.id])
  }

  @Test("drain: no new work at once; at the deadline running tasks are stopped and requeued")
  mutating func drain() throws {
    var board = board()
    let a = node("a")
    let task = board.submit(TaskSpec(command: ["x"], maxAttempts: 1), now: now)
    let assignment = try #require(Self.assignments(schedule(&board, on: [a])).first).1
    _ = board.report(report(assignment, .running), from: a.id, now: now)

    let deadline = now.advanced(by: .seconds(30))
    board.setDrain(a.id, deadline: deadline)
    #expect(board.nextWakeUp == deadline)
    #expect(board.tick(now: now.advanced(by: .seconds(29))).actions.isEmpty)
    let stops = Self.stops(board.tick(now: deadline).actions)
    #expect(stops.map(\.1) == [task.id])
    #expect(board.nextWakeUp == nil)

    #expect(board.takeCompletedDrains().isEmpty, "a task is still being stopped there")
    _ = board.report(report(assignment, .cancelled), from: a.id, now: deadline)
    #expect(board.takeCompletedDrains() == [a.id])
    let requeued = try board.task(task.id)
    #expect(requeued.state == .pending)
    #expect(requeued.attempts.last?.outcome == .drained)
    // A max_attempts 1 task still has its attempt: it runs on another node.
    var cordoned = a
    cordoned.cordoned = true
    let moved = Self.assignments(schedule(&board, on: [cordoned, node("b")]))
    #expect(moved.map(\.0.rawValue) == ["b"])
  }

  @Test("a task finishing during a drain is recorded as it ended, not as drained")
  mutating func finishesDuringDrain() throws {
    var board = board()
    let a = node("a")
    let task = board.submit(TaskSpec(command: ["x"]), now: now)
    let assignment = try #require(Self.assignments(schedule(&board, on: [a])).first).1
    board.setDrain(a.id, deadline: now.advanced(by: .seconds(60)))
    _ = board.report(report(assignment, .succeeded, exit: 0), from: a.id, now: now)
    #expect(try board.task(task.id).state == .succeeded)
  }

  @Test("a task pending past reserve-after holds a node; younger small tasks go elsewhere")
  mutating func reservation() throws {
    var board = board()
    let (a, b) = (node("a", cpu: 4000), node("b", cpu: 4000))
    // Fill both nodes partly.
    for _ in 0..<2 {
      _ = board.submit(
        TaskSpec(command: ["x"], resources: Resources(cpuMillis: 1000), strategy: .spread),
        now: now
      )
    }
    _ = schedule(&board, on: [a, b])
    let big = board.submit(
      TaskSpec(command: ["x"], resources: Resources(cpuMillis: 4000)),
      now: now
    )
    let later = now.advanced(by: .seconds(61))
    _ = board.submit(TaskSpec(command: ["x"], resources: Resources(cpuMillis: 1000)), now: later)
    _ = board.submit(TaskSpec(command: ["x"], resources: Resources(cpuMillis: 1000)), now: later)
    let placed = Self.assignments(schedule(&board, on: [a, b], at: later))
    // Both small tasks share one node; the other is held for the big task.
    #expect(placed.count == 2)
    #expect(Set(placed.map(\.0)).count == 1)
    #expect(try board.task(big.id).state == .pending)
  }

  @Test("a placement whose node vanished before delivery is retried, not failed or counted")
  mutating func undeliverable() throws {
    var board = board()
    let task = board.submit(TaskSpec(command: ["x"]), now: now)
    let (a, b) = (node("a"), node("b"))
    let assignment = try #require(Self.assignments(schedule(&board, on: [a])).first).1
    board.undeliverable(task.id, attempt: assignment.attemptID)
    let requeued = try board.task(task.id)
    #expect(requeued.state == .pending)
    #expect(requeued.attempt == 0)
    #expect(requeued.attempts.isEmpty)
    #expect(board.usage(of: a.id) == .none)
    let retried = Self.assignments(schedule(&board, on: [b]))
    #expect(retried.map(\.1.attempt) == [1])
    #expect(retried.map(\.0) == [b.id])
  }

  @Test("a task cancelled while it waits out its retry delay ends CANCELLED and is not placed")
  mutating func cancelDuringBackoff() throws {
    var board = board()
    let task = board.submit(TaskSpec(command: ["x"], maxAttempts: 3), now: now)
    let a = node("a")
    let first = try #require(Self.assignments(schedule(&board, on: [a])).first).1
    _ = board.report(report(first, .failed, exit: 1), from: a.id, now: now)
    #expect(try board.task(task.id).notBefore != nil)
    _ = try board.cancel(task.id, now: now)
    #expect(try board.task(task.id).state == .cancelled)
    #expect(board.tick(now: now.advanced(by: .seconds(5))).queued == false)
    #expect(Self.assignments(schedule(&board, on: [a])).isEmpty)
  }

  @Test("a task its agent hands back (leaving, or no free slot) waits a moment, uses no attempt and no loss, however often")
  mutating func handedBack() throws {
    var board = board()
    let a = node("a")
    let task = board.submit(TaskSpec(command: ["x"]), now: now)
    var at = now
    // A node shutting down refuses the task every time it is offered, until its goodbye.
    for _ in 0..<20 {
      let assignment = try #require(Self.assignments(schedule(&board, on: [a])).first).1
      _ = board.report(report(assignment, .pending), from: a.id, now: at)
      let returned = try board.task(task.id)
      #expect(returned.state == .pending)
      #expect(returned.lostAttempts == 0)
      #expect(returned.notBefore == at.advanced(by: TaskBoard.returnDelay))
      // Not offered again before the delay.
      #expect(Self.assignments(schedule(&board, on: [a])).isEmpty)
      at = at.advanced(by: TaskBoard.returnDelay)
      _ = board.tick(now: at)
    }
    let last = try board.task(task.id)
    #expect(last.state == .pending)
    #expect(last.attempts.count == 20)
    #expect(last.attempts.allSatisfy { $0.outcome == .lost })
  }

  @Test("an evicted task whose agent hands it back or whose node is lost still uses no attempt")
  mutating func evictionThenLoss() throws {
    var board = board()
    let a = node("a")
    let task = board.submit(TaskSpec(command: ["x"]), now: now)
    let assignment = try #require(Self.assignments(schedule(&board, on: [a])).first).1
    board.setDrain(a.id, deadline: now)
    _ = board.tick(now: now)
    _ = board.nodeLost(a.id, now: now)
    let requeued = try board.task(task.id)
    #expect(requeued.state == .pending)
    #expect(requeued.lostAttempts == 0)
    #expect(requeued.attempts.map(\.outcome) == [.drained])
    #expect(requeued.attempts.first?.id == assignment.attemptID)
  }
}
