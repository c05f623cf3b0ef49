import Foundation
import Logging
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// Runs the attempts the orchestrator assigns, as children of one task group, and keeps them
/// running across reconnections.
final class TaskExecutor: Sendable {
  private struct State {
    var attempts: [AttemptID: AttemptRunner] = [:]
    var closed = false
  }

  private let state = Mutex(State())
  private let work: AsyncStream<AttemptRunner>
  private let submit: AsyncStream<AttemptRunner>.Continuation
  private let outbox: Outbox
  private let clock: any WallClock
  private let nodeID: NodeID
  private let slots: Int
  let killGrace: Duration
  /// Each attempt's own cgroup, where the machine allows (`nil`: process groups only).
  private let cgroups: TaskCgroups?
  private let logger: Logger
  private let baseEnvironment: [String: String]
  /// Where agent CLIs are looked for before PATH (`--agent-path`).
  private let agentSearchPath: [String]
  /// Each attempt's own directory, where the spec names none.
  private let workspaces: Workspaces?
  /// The user tasks run as, when not the agent's own.
  private let taskUser: TaskUser?

  /// Agent environment variables tasks inherit; everything else comes from the task's spec, so
  /// the agent's own credentials never leak into tasks.
  static let inheritedVariables = [
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "TZ", "TMPDIR",
  ]

  init(
    outbox: Outbox,
    clock: any WallClock,
    nodeID: NodeID,
    slots: Int,
    killGrace: Duration,
    cgroups: TaskCgroups? = nil,
    clientEnvironment: [String: String] = [:],
    agentSearchPath: [String] = [],
    workspaces: Workspaces? = nil,
    taskUser: TaskUser? = nil,
    logger: Logger
  ) {
    self.agentSearchPath = agentSearchPath
    self.workspaces = workspaces
    self.taskUser = taskUser
    self.outbox = outbox
    self.clock = clock
    self.nodeID = nodeID
    self.slots = slots
    self.killGrace = killGrace
    self.cgroups = cgroups
    self.logger = logger
    let environment = ProcessInfo.processInfo.environment
    baseEnvironment = environment.filter { Self.inheritedVariables.contains($0.key) }
      .merging(clientEnvironment) { $1 }
    (work, submit) = AsyncStream.makeStream(of: AttemptRunner.self)
  }

  /// Attempts running now, for the hello that opens each connection.
  var running: [(task: TaskID, attempt: AttemptID)] {
    state.withLock { $0.attempts.values.map { ($0.taskID, $0.attemptID) } }
  }

  /// Starts an assigned attempt. A repeated assignment is ignored; one beyond the node's slots
  /// is handed back (reported PENDING) so the orchestrator places it elsewhere.
  func assign(_ assignment: Assignment) {
    let attemptID = assignment.attempt
    let runner = AttemptRunner(assignment: assignment) { [weak self] in
      _ = self?.state.withLock { $0.attempts.removeValue(forKey: attemptID) }
    }
    let accepted: Bool? = state.withLock { state in
      guard state.attempts[attemptID] == nil else { return nil }
      guard !state.closed, state.attempts.count < slots else { return false }
      state.attempts[attemptID] = runner
      return true
    }
    switch accepted {
    case true?:
      submit.yield(runner)
    case false?:
      outbox.post(
        status: .with {
          $0.taskID = assignment.task.rawValue
          $0.attemptID = attemptID.rawValue
          $0.state = .pending
          $0.message = "node \(nodeID) is shutting down or all its \(slots) slots are busy"
        }
      )
    case nil:
      break
    }
  }

  /// Refuses an assignment that does not decode: its attempt fails as one that could not
  /// start, naming what was wrong, so the task does not wait for a node that will never run it.
  func refuse(_ assignment: Orchion_V1_TaskAssignment, because error: OrchionError) {
    logger.error(
      "refused an assignment that does not decode",
      metadata: ["orchion.task.id": "\(assignment.taskID)", "error": "\(error.fullMessage)"]
    )
    outbox.post(
      status: .with {
        $0.taskID = assignment.taskID
        $0.attemptID = assignment.attemptID
        $0.state = .failed
        $0.message = "node \(nodeID) cannot run this assignment: \(error.message)"
        $0.termination = .init(TerminationReason.couldNotStart)
      }
    )
  }

  /// Stops an attempt's process tree; the attempt then reports the state asked for.
  func stop(_ request: StopRequest) {
    let runner = state.withLock { $0.attempts[request.attempt] }
    runner?.stop(.stopped(state: request.state, reason: request.reason))
  }

  /// Stops every attempt (the agent is shutting down) and takes no more.
  func stopAll(reason: String) {
    let runners = state.withLock { state in
      state.closed = true
      return Array(state.attempts.values)
    }
    // PENDING: the orchestrator requeues them without using up an attempt.
    for runner in runners { runner.stop(.stopped(state: .pending, reason: reason)) }
    submit.finish()
  }

  /// Whether no attempt is running.
  var isIdle: Bool { state.withLock { $0.attempts.isEmpty } }

  /// Runs attempts until ``stopAll(reason:)`` and every attempt has ended.
  func run() async {
    await withDiscardingTaskGroup { group in
      for await runner in work {
        group.addTask {
          self.logger.debug(
            "attempt started",
            metadata: [
              "orchion.task.id": "\(runner.taskID)", "orchion.attempt.id": "\(runner.attemptID)",
            ]
          )
          await runner.run(
            outbox: self.outbox,
            clock: self.clock,
            killGrace: self.killGrace,
            nodeID: self.nodeID,
            baseEnvironment: self.baseEnvironment,
            cgroups: self.cgroups,
            agentSearchPath: self.agentSearchPath,
            workspaces: self.workspaces,
            taskUser: self.taskUser
          )
          // Its final report is queued: the workspace may go once that is acknowledged.
          self.workspaces?.ended(
            task: runner.taskID,
            attempt: runner.attemptID,
            reportSequence: self.outbox.lastSequence
          )
          _ = self.state.withLock { $0.attempts.removeValue(forKey: runner.attemptID) }
        }
      }
    }
  }
}
