import OrchionCore
import OrchionScheduler
import Testing

@testable import OrchionServer

/// Every way an attempt ends is typed on the attempt and, once terminal, on the task: nothing
/// downstream (`orchion run`'s exit code, retries, dashboards) reads it from a message.
@Suite("TaskBoard termination reasons")
struct TaskBoardTerminationTests {
  let now = UTCInstant(nanosecondsSinceEpoch: 1_700_000_000_000_000_000)
  var generator = SystemRandomNumberGenerator()
  var a: ClusterSnapshot.Node {
    get throws {
      ClusterSnapshot.Node(
        id: try NodeID(validating: "a"),
        capacity: Resources(cpuMillis: 4000, memoryBytes: 8 << 30),
        slots: 4
      )
    }
  }

  /// A board with one task placed on `a`, and its assignment.
  mutating func placed(_ spec: TaskSpec = TaskSpec(command: ["sleep", "9"])) throws -> (
    TaskBoard, ClusterAction.Assignment
  ) {
    var board = TaskBoard(limits: .init(retainedFinishedTasks: 100, maxLostAttempts: 0))
    _ = board.submit(spec, now: now)
    let actions = board.schedule(
      nodes: [try a],
      scheduler: StrategyScheduler(strategy: .spread),
      now: now,
      generator: &generator
    )
    let assignment = try #require(
      actions.compactMap { action -> ClusterAction.Assignment? in
        if case .assign(_, let assignment) = action { return assignment }
        return nil
      }.first
    )
    return (board, assignment)
  }

  func report(
    _ assignment: ClusterAction.Assignment,
    _ state: TaskState,
    exit: Int32,
    termination: TerminationReason?
  ) -> AttemptReport {
    AttemptReport(
      task: assignment.task,
      attempt: assignment.attemptID,
      state: state,
      exitCode: exit,
      message: "ended",
      time: now,
      termination: termination
    )
  }

  @Test(
    "what the agent reports is kept on attempt and task: timed out, signalled, could not start, spawner died, exited",
    arguments: [
      (TaskState.failed, Int32(143), TerminationReason.timedOut),
      (.failed, 137, .signalled),
      (.failed, 127, .couldNotStart),
      (.failed, 0, .spawnerDied),
      (.failed, 3, .exited),
      (.succeeded, 0, .exited),
    ]
  )
  mutating func reported(state: TaskState, exit: Int32, termination: TerminationReason) throws {
    var (board, assignment) = try placed()
    _ = board.report(
      report(assignment, state, exit: exit, termination: termination),
      from: try a.id,
      now: now
    )
    let task = try board.task(assignment.task)
    #expect(task.state == state)
    #expect(task.termination == termination)
    #expect(task.attempts.last?.termination == termination)
  }

  @Test("a report from an older agent that gives no reason is typed by its exit")
  mutating func untypedReport() throws {
    var (board, assignment) = try placed()
    _ = board.report(report(assignment, .failed, exit: 1, termination: nil), from: try a.id, now: now)
    #expect(try board.task(assignment.task).termination == .exited)
  }

  @Test("a cancel is CANCELLED, whether the task was pending or running and however it died")
  mutating func cancelled() throws {
    var (board, assignment) = try placed()
    _ = try board.cancel(assignment.task, now: now)
    _ = board.report(
      report(assignment, .failed, exit: 143, termination: .signalled),
      from: try a.id,
      now: now
    )
    #expect(try board.task(assignment.task).termination == .cancelled)

    let waiting = board.submit(TaskSpec(command: ["true"], nodeSelector: ["no": "such"]), now: now)
    _ = try board.cancel(waiting.id, now: now)
    #expect(try board.task(waiting.id).termination == .cancelled)
    #expect(try board.task(waiting.id).attempts.isEmpty)
  }

  @Test("preemption and drain type the attempt they stop; a lost node types it LOST")
  mutating func orchestratorsOwn() throws {
    for (outcome, expected) in [
      (AttemptOutcome.preempted, TerminationReason.preempted), (.drained, .drained),
    ] {
      var (board, assignment) = try placed()
      _ = board.evict(assignment.task, on: try a.id, as: outcome)
      _ = board.report(
        report(assignment, .cancelled, exit: 143, termination: nil),
        from: try a.id,
        now: now
      )
      let task = try board.task(assignment.task)
      #expect(task.state == .pending)
      #expect(task.attempts.last?.termination == expected)
      #expect(task.termination == nil, "a requeued task has not ended")
    }
    var (board, assignment) = try placed()
    _ = board.nodeLost(try a.id, now: now)
    let task = try board.task(assignment.task)
    // maxLostAttempts 0: the first loss fails it.
    #expect(task.state == .failed)
    #expect(task.attempts.last?.termination == .lost)
    #expect(task.termination == .lost)
  }
}
