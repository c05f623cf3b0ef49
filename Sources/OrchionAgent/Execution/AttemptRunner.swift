import Foundation
import NIOCore
import NIOPosix
import OrchionAPI
import OrchionCore
import OrchionWire
import SwiftProtobuf
import Synchronization

/// Runs one attempt of a task: starts its process tree, streams both outputs to the outbox in
/// sequenced chunks, enforces the timeout, stops it on request, and reports how it ended.
final class AttemptRunner: Sendable {
  /// Why the agent is ending the attempt early.
  enum Termination: Sendable, Equatable {
    case timedOut(Duration)
    case stopped(state: TaskState, reason: String)
  }

  /// The largest output chunk sent in one piece.
  static let maxChunkBytes = AgentStreamLimits.maxChunkBytes

  /// How long output is still read after the command ended. The task ends with its command:
  /// a process it left behind that still holds the pipes (where no cgroup killed it) must not
  /// hold the task, nor a cancel, for as long as it lives.
  static let outputDrain = Duration.seconds(2)

  let taskID: TaskID
  let attemptID: AttemptID
  /// Which attempt of the task this is (1 for the first).
  let attempt: Int32
  let spec: TaskSpec
  let serverAddress: String
  /// Secret values by environment variable, for this attempt only: never logged or kept.
  private let secretValues: [String: String]
  /// The attempt's router token (ORCHION_TOKEN).
  private let taskToken: String
  private let termination = Mutex<Termination?>(nil)
  private let terminationRequests: AsyncStream<Void>
  private let requestTermination: AsyncStream<Void>.Continuation

  /// Frees the attempt's slot on its node; called just before the final report.
  private let released: @Sendable () -> Void

  init(assignment: Assignment, released: @escaping @Sendable () -> Void = {}) {
    self.released = released
    taskID = assignment.task
    attemptID = assignment.attempt
    attempt = assignment.number
    spec = assignment.spec
    serverAddress = assignment.serverAddress
    secretValues = assignment.secretValues
    taskToken = assignment.taskToken
    (terminationRequests, requestTermination) = AsyncStream.makeStream(
      of: Void.self,
      bufferingPolicy: .bufferingNewest(1)
    )
  }

  /// Asks the attempt to end: SIGTERM to its process group now, SIGKILL after the grace.
  /// The first reason given wins.
  func stop(_ reason: Termination) {
    let first = termination.withLock { current in
      if current == nil { current = reason }
      return current == reason
    }
    if first { requestTermination.yield() }
  }

  /// Runs the attempt to its end and queues its status reports.
  func run(
    outbox: Outbox,
    clock: any WallClock,
    killGrace: Duration,
    nodeID: NodeID,
    baseEnvironment: [String: String],
    cgroups: TaskCgroups? = nil
  ) async {
    var environment = baseEnvironment.merging(spec.environment) { $1 }
    environment["ORCHION_TASK_ID"] = taskID.rawValue
    environment["ORCHION_ATTEMPT_ID"] = attemptID.rawValue
    environment["ORCHION_ATTEMPT"] = "\(attempt)"
    environment["ORCHION_NODE_ID"] = nodeID.rawValue
    environment["ORCHION_SERVER"] = serverAddress
    // The attempt's own token, so `orchion msg` works inside it with no flags; it is good for
    // the router only, and only while this attempt is the task's current one.
    environment["ORCHION_TOKEN"] = taskToken.isEmpty ? nil : taskToken

    let missing = spec.secretEnvironment.filter { secretValues[$0.key] == nil }.values.sorted()
    if let name = missing.first {
      return report(
        .failed,
        exitCode: 0,
        message:
          "secret '\(name)' was not delivered: it was removed since the task was submitted (orchion secret set \(name)), or the orchestrator cannot decrypt it (its log says so)",
        termination: .couldNotStart,
        to: outbox,
        clock: clock
      )
    }
    environment.merge(secretValues) { $1 }

    if case .stopped(let state, let reason)? = termination.withLock({ $0 }) {
      return report(state, exitCode: 0, message: reason, to: outbox, clock: clock)
    }
    let program = spec.command.first ?? ""
    guard let executable = ExecutablePath.resolve(program, path: environment["PATH"]) else {
      return report(
        .failed,
        exitCode: 127,
        message: "command not found: '\(program)'",
        termination: .couldNotStart,
        to: outbox,
        clock: clock
      )
    }
    let process: LaunchedProcess
    let cgroup = cgroups?.create(for: attemptID.rawValue)
    do {
      let (spec, environment) = (spec, environment)
      // On NIO's blocking-work pool: the launch waits for the spawner's answer, and a spawner
      // held up by a command whose exec hangs (a dead network filesystem) must not stall the
      // event loops that carry this agent's heartbeats.
      process = try await NIOThreadPool.singleton.runIfActive {
        try ProcessLauncher.launch(
          executable: executable,
          arguments: spec.command,
          environment: environment,
          workingDirectory: spec.workingDirectory,
          cgroup: cgroup,
          fenced: !spec.surviveDisconnect,
          killGrace: killGrace
        )
      }
    } catch {
      if let cgroup { await cgroups?.remove(cgroup, clock: clock) }
      let message = (error as? OrchionError)?.message ?? "cannot start process: \(error)"
      return report(
        .failed,
        exitCode: 127,
        message: message,
        termination: .couldNotStart,
        to: outbox,
        clock: clock
      )
    }
    report(.running, exitCode: 0, message: "", to: outbox, clock: clock)

    let outcome = await supervise(
      process,
      cgroup: cgroup,
      outbox: outbox,
      clock: clock,
      killGrace: killGrace
    )
    // Whatever the attempt started goes with it (the spawner already killed it; this removes
    // the cgroup, or kills what it missed), before the attempt is reported ended.
    if let cgroup { await cgroups?.remove(cgroup, clock: clock) }

    let description = outcome.describe(program: program, workingDirectory: spec.workingDirectory)
    switch termination.withLock({ $0 }) {
    case .timedOut(let limit)?:
      report(
        .failed,
        exitCode: outcome.exitCode ?? 0,
        message: "timed out after \(DurationFormat.format(limit)) (\(description))",
        termination: .timedOut,
        to: outbox,
        clock: clock
      )
    case .stopped(let state, let reason)?:
      // The orchestrator asked for the stop and types it (cancelled, preempted, drained).
      report(state, exitCode: outcome.exitCode ?? 0, message: reason, to: outbox, clock: clock)
    case nil where outcome == .fenced:
      // Not a failure of the task: the orchestrator has given it to another node.
      report(.pending, exitCode: 0, message: description, to: outbox, clock: clock)
    case nil:
      let succeeded = outcome == .exited(code: 0)
      report(
        succeeded ? .succeeded : .failed,
        exitCode: outcome.exitCode ?? 0,
        message: succeeded ? "" : description,
        termination: outcome.termination,
        to: outbox,
        clock: clock
      )
    }
  }

  /// Streams output and waits for the process tree to end, enforcing timeout and stops.
  private func supervise(
    _ process: LaunchedProcess,
    cgroup: String?,
    outbox: Outbox,
    clock: any WallClock,
    killGrace: Duration
  ) async -> ProcessOutcome {
    let timeout = spec.timeout ?? .zero
    return await withTaskGroup(of: Void.self) { control in
      // Ends the process tree when asked: SIGTERM, then SIGKILL after the grace.
      control.addTask {
        var requests = self.terminationRequests.makeAsyncIterator()
        guard await requests.next() != nil else { return }
        ProcessLauncher.signalGroup(process.processGroup, SIGTERM)
        try? await clock.sleep(for: killGrace)
        guard !Task.isCancelled else { return }
        ProcessLauncher.signalGroup(process.processGroup, SIGKILL)
        // What left the group (setsid) and ignored the SIGTERM.
        if let cgroup { TaskCgroups.kill(cgroup) }
      }
      if timeout > .zero {
        control.addTask {
          try? await clock.sleep(for: timeout)
          if !Task.isCancelled { self.stop(.timedOut(timeout)) }
        }
      }
      // The tree is gone when both output pipes and the status pipe are at their end — or,
      // once the command has ended, after `outputDrain` at the latest.
      let outcome = await withTaskGroup(of: ReaderEvent.self) { readers in
        readers.addTask {
          await self.forward(process.standardOutput, stream: .stdout, to: outbox, clock: clock)
          return .pipeClosed
        }
        readers.addTask {
          await self.forward(process.standardError, stream: .stderr, to: outbox, clock: clock)
          return .pipeClosed
        }
        readers.addTask {
          var records: [UInt8] = []
          try? await PipeReader.read(process.status) { records += $0.readableBytesView }
          let outcome = ProcessOutcome(records: records)
          // No report: the spawner was killed. The command got SIGKILL with it (its
          // parent-death signal), but what the command started is still in the group and
          // holds the output pipes open.
          if outcome == .unknown {
            ProcessLauncher.signalGroup(process.processGroup, SIGKILL)
            if let cgroup { TaskCgroups.kill(cgroup) }
          }
          return .ended(outcome)
        }
        var outcome = ProcessOutcome.unknown
        var openPipes = 2
        var ended = false
        for await event in readers {
          switch event {
          case .pipeClosed:
            openPipes -= 1
          case .ended(let result):
            outcome = result
            ended = true
            if openPipes > 0 {
              readers.addTask {
                try? await clock.sleep(for: Self.outputDrain)
                return .drainOver
              }
            }
          case .drainOver:
            // Something the command left behind holds its pipes: the task is over anyway.
            readers.cancelAll()
          }
          if ended, openPipes == 0 { readers.cancelAll() }
        }
        return outcome
      }
      requestTermination.finish()
      control.cancelAll()
      return outcome
    }
  }

  /// What ends one of the readers of an attempt's pipes.
  private enum ReaderEvent: Sendable {
    case pipeClosed
    case ended(ProcessOutcome)
    case drainOver
  }

  /// Sends a pipe's bytes to the outbox in sequenced chunks until end of file.
  private func forward(
    _ descriptor: CInt,
    stream: Orchion_V1_LogStream,
    to outbox: Outbox,
    clock: any WallClock
  ) async {
    var sequence: Int64 = 0
    try? await PipeReader.read(descriptor) { buffer in
      var buffer = buffer
      while buffer.readableBytes > 0 {
        let length = min(buffer.readableBytes, Self.maxChunkBytes)
        guard let bytes = buffer.readBytes(length: length) else { break }
        let time = Google_Protobuf_Timestamp(clock.now)
        let entry = Orchion_V1_AttemptLog.with {
          $0.attemptID = attemptID.rawValue
          $0.chunk = .with {
            $0.taskID = taskID.rawValue
            $0.attempt = attempt
            $0.stream = stream
            $0.sequence = sequence
            $0.data = Data(bytes)
            $0.time = time
          }
        }
        sequence += 1
        try await outbox.post(log: entry)
      }
    }
  }

  private func report(
    _ state: TaskState,
    exitCode: Int32,
    message: String,
    termination: TerminationReason? = nil,
    to outbox: Outbox,
    clock: any WallClock
  ) {
    // The slot is free before the final report leaves: the orchestrator may place the next
    // attempt here the moment it reads it, and must not find the slot still taken.
    if state != .running { released() }
    let time = Google_Protobuf_Timestamp(clock.now)
    outbox.post(
      status: .with {
        $0.taskID = taskID.rawValue
        $0.attemptID = attemptID.rawValue
        $0.state = Orchion_V1_TaskState(state)
        $0.exitCode = exitCode
        $0.message = message
        $0.time = time
        if let termination { $0.termination = .init(termination) }
      }
    )
  }
}
