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
  /// An agent task's parser once its output has ended, and the next event sequence.
  private let agentOutput = Mutex<(parser: AgentEventParser, nextSequence: Int64)?>(nil)
  /// When the process started, for a run whose CLI does not time itself.
  private let startedAt = Mutex<UTCInstant?>(nil)

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
    cgroups: TaskCgroups? = nil,
    agentSearchPath: [String] = [],
    workspaces: Workspaces? = nil,
    taskUser: TaskUser? = nil
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
    // An agent CLI is found where detection found it: `--agent-path` first, then PATH.
    let searchPath =
      spec.agent == nil
      ? environment["PATH"]
      : (agentSearchPath + [environment["PATH"] ?? ""]).joined(separator: ":")
    guard let executable = ExecutablePath.resolve(program, path: searchPath) else {
      return report(
        .failed,
        exitCode: 127,
        message: "command not found: '\(program)'",
        termination: .couldNotStart,
        to: outbox,
        clock: clock
      )
    }
    // Its own directory unless the spec names one: tasks on one node do not share files.
    var workingDirectory = spec.workingDirectory
    if workingDirectory.isEmpty, let workspaces {
      do {
        workingDirectory = try workspaces.create(task: taskID, attempt: attemptID, owner: taskUser)
      } catch {
        return report(
          .failed,
          exitCode: 0,
          message: "cannot create the workspace under \(workspaces.root): \(error.localizedDescription)",
          termination: .couldNotStart,
          to: outbox,
          clock: clock
        )
      }
    }
    if !workingDirectory.isEmpty { environment["ORCHION_WORKSPACE"] = workingDirectory }
    let process: LaunchedProcess
    let cgroup = cgroups?.create(for: attemptID.rawValue)
    do {
      let (spec, environment, workingDirectory) = (spec, environment, workingDirectory)
      // On NIO's blocking-work pool: the launch waits for the spawner's answer, and a spawner
      // held up by a command whose exec hangs (a dead network filesystem) must not stall the
      // event loops that carry this agent's heartbeats.
      process = try await NIOThreadPool.singleton.runIfActive {
        try ProcessLauncher.launch(
          executable: executable,
          arguments: spec.command,
          environment: environment,
          workingDirectory: workingDirectory,
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
    startedAt.withLock { $0 = clock.now }

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

    let description = outcome.describe(program: program, workingDirectory: workingDirectory)
    let agentResult = await finishAgentOutput(exitCode: outcome.exitCode, outbox: outbox, clock: clock)
    switch termination.withLock({ $0 }) {
    case .timedOut(let limit)?:
      report(
        .failed,
        exitCode: outcome.exitCode ?? 0,
        message: "timed out after \(DurationFormat.format(limit)) (\(description))",
        termination: .timedOut,
        agentResult: agentResult,
        to: outbox,
        clock: clock
      )
    case .stopped(let state, let reason)?:
      // The orchestrator asked for the stop and types it (cancelled, preempted, drained).
      report(
        state,
        exitCode: outcome.exitCode ?? 0,
        message: reason,
        agentResult: state.isTerminal ? agentResult : nil,
        to: outbox,
        clock: clock
      )
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
        agentResult: agentResult,
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
          if self.spec.agent != nil {
            await self.forwardAgent(process.standardOutput, to: outbox, clock: clock)
          } else {
            await self.forward(process.standardOutput, stream: .stdout, to: outbox, clock: clock)
          }
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
    var redactor = secretRedactor
    try? await PipeReader.read(descriptor) { buffer in
      let bytes = redactor.redact(buffer.readableBytesView)
      try await post(bytes, stream: stream, sequence: &sequence, to: outbox, clock: clock)
    }
    try? await post(redactor.finish(), stream: stream, sequence: &sequence, to: outbox, clock: clock)
  }

  /// Secrets of this attempt, by secret name, to keep out of its output — and its router
  /// token, which `env` would print as readily as a key.
  private var secretRedactor: SecretRedactor {
    var byName: [String: String] = [:]
    for (variable, value) in secretValues {
      byName[spec.secretEnvironment[variable] ?? variable] = value
    }
    if !taskToken.isEmpty { byName["ORCHION_TOKEN"] = taskToken }
    return SecretRedactor(byName)
  }

  /// Sends `bytes` of `stream` in sequenced chunks of at most ``maxChunkBytes``.
  private func post(
    _ bytes: [UInt8],
    stream: Orchion_V1_LogStream,
    sequence: inout Int64,
    to outbox: Outbox,
    clock: any WallClock
  ) async throws {
    var offset = 0
    while offset < bytes.count {
      let end = min(bytes.count, offset + Self.maxChunkBytes)
      let time = Google_Protobuf_Timestamp(clock.now)
      let chunkSequence = sequence
      let entry = Orchion_V1_AttemptLog.with {
        $0.attemptID = attemptID.rawValue
        $0.chunk = .with {
          $0.taskID = taskID.rawValue
          $0.attempt = attempt
          $0.stream = stream
          $0.sequence = chunkSequence
          $0.data = Data(bytes[offset..<end])
          $0.time = time
        }
      }
      sequence += 1
      offset = end
      try await outbox.post(log: entry)
    }
  }

  /// An agent CLI's standard output: its JSON lines as events, other lines as output.
  private func forwardAgent(_ descriptor: CInt, to outbox: Outbox, clock: any WallClock) async {
    guard let agent = spec.agent, let flavor = AgentFlavor(name: agent.name) else {
      return await forward(descriptor, stream: .stdout, to: outbox, clock: clock)
    }
    // A CLI Orchion names sessions for (goose): the name its command carries.
    let named = flavor.sessionName(for: taskID).flatMap { _ in
      spec.command.firstIndex(of: "--name").flatMap { index in
        index + 1 < spec.command.count ? spec.command[index + 1] : nil
      }
    }
    var pipeline = AgentOutputPipeline(
      parser: AgentEventParser(format: flavor.outputFormat, model: agent.model, session: named),
      secrets: secretRedactor
    )
    var stdoutSequence: Int64 = 0
    var eventSequence: Int64 = 0
    func send(_ outputs: [AgentOutputPipeline.Output]) async throws {
      for output in outputs {
        switch output {
        case .raw(let bytes):
          try await post(bytes, stream: .stdout, sequence: &stdoutSequence, to: outbox, clock: clock)
        case .event(let kind):
          try await post(event: kind, sequence: &eventSequence, to: outbox, clock: clock)
        }
      }
    }
    try? await send(pipeline.start())
    try? await PipeReader.read(descriptor) { buffer in
      try await send(pipeline.consume(buffer.readableBytesView))
    }
    try? await send(pipeline.finish())
    let parser = pipeline.parser
    let next = eventSequence
    agentOutput.withLock { $0 = (parser, next) }
  }

  /// Sends one agent event as the next chunk of the AGENT_EVENT stream.
  private func post(
    event kind: Orchion_V1_AgentEvent.OneOf_Kind,
    sequence: inout Int64,
    to outbox: Outbox,
    clock: any WallClock
  ) async throws {
    let time = Google_Protobuf_Timestamp(clock.now)
    let event = Orchion_V1_AgentEvent.with {
      $0.kind = kind
      $0.time = time
    }
    guard let data = try? event.serializedBytes() as [UInt8] else { return }
    try await post(data, stream: .agentEvent, sequence: &sequence, to: outbox, clock: clock)
  }

  /// The run's result for the final report, after its own result event where the CLI gave
  /// none (every agent run's events end with a result).
  private func finishAgentOutput(exitCode: Int32?, outbox: Outbox, clock: any WallClock) async
    -> AgentResult?
  {
    guard spec.agent != nil else { return nil }
    let (found, started) = (agentOutput.withLock { $0 }, startedAt.withLock { $0 })
    guard var (parser, sequence) = found else { return nil }
    let elapsed = started.map { $0.duration(to: clock.now) } ?? .zero
    let secrets = secretRedactor
    func cleaned(_ result: Orchion_V1_AgentResult) -> Orchion_V1_AgentResult {
      let kind = AgentEventRules.mapText(of: .result(result)) { text, limit in
        AgentText.clip(secrets.redacting(text), to: limit)
      }
      guard case .result(let cleaned) = kind else { return result }
      return cleaned
    }
    var proto = cleaned(parser.transcript.result(exitCode: exitCode, elapsed: elapsed))
    if !parser.transcript.resultSent {
      parser.countEvents(1)
      proto.events = parser.transcript.events
      let event = Orchion_V1_AgentEvent.with { $0.kind = .result(proto) }
      if (try? AgentEventRules.validate(event, field: "event")) != nil {
        try? await post(event: .result(proto), sequence: &sequence, to: outbox, clock: clock)
      }
    }
    // Whatever the CLI printed, the report carries a result the orchestrator takes.
    return (try? AgentResult(validating: proto, field: "agent_result"))
      ?? AgentResult(status: proto.status == .succeeded ? .succeeded : .failed)
  }

  private func report(
    _ state: TaskState,
    exitCode: Int32,
    message: String,
    termination: TerminationReason? = nil,
    agentResult: AgentResult? = nil,
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
        if let agentResult { $0.agentResult = .init(agentResult) }
      }
    )
  }
}
