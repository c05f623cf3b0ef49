import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import OrchionWire
import SwiftProtobuf

/// `orchion run`: submit a task, stream its output, exit with its exit code.
struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run a command on whichever node fits, streaming its output.",
    discussion: """
      Exits with the task's exit code, as `docker run` does: 124 when it timed out, 127 when it \
      could not start, 130 when it was cancelled, 1 for other failures.
      """
  )

  @OptionGroup var client: ClientOptions

  @Option(help: "A name for the task.")
  var name = ""

  @Option(name: .customLong("env"), help: "An environment variable K=V (repeatable).")
  var environment: [KeyValue] = []

  @Option(
    name: .customLong("secret-env"),
    help:
      "An environment variable VAR=SECRET whose value is the secret's (repeatable; orchion secret set)."
  )
  var secretEnvironment: [KeyValue] = []

  @Option(help: "Working directory on the node.")
  var workdir = ""

  @Option(name: .customLong("selector"), help: "A label k=v the node must carry (repeatable).")
  var selectors: [KeyValue] = []

  @Option(help: "CPU to reserve: 2, 1.5 or 500m.")
  var cpu: String?

  @Option(help: "Memory to reserve: 512Mi, 1Gi, 2G.")
  var memory: String?

  @Option(help: "GPUs to reserve.")
  var gpus: Int32 = 0

  @Option(help: "Wall time allowed per attempt (e.g. 30s, 10m).")
  var timeout: DurationArgument?

  @Option(
    name: .customLong("resource"),
    help: "A named countable resource NAME=N to reserve, e.g. tool/claude=1 (repeatable)."
  )
  var resources: [KeyValue] = []

  @Option(
    name: .customLong("constraint"),
    help:
      "A label rule the node must satisfy: 'k=v', 'k!=v', 'k in (a,b)', 'k notin (a,b)', 'k', '!k' (repeatable)."
  )
  var constraints: [String] = []

  @Option(help: "Placement strategy for this task: binpack, spread or round-robin.")
  var strategy: PlacementStrategy?

  @Option(help: "Extra attempts after a failure.")
  var retries: Int32 = 0

  @Option(help: "Exit codes that retry, e.g. 2,75 (default: any failure).")
  var retryOn: String?

  @Option(help: "Delay before the first retry, doubled each time (default 1s).")
  var retryBackoff: DurationArgument?

  @Option(help: "Longest retry delay (default 5m).")
  var retryBackoffMax: DurationArgument?

  @Option(help: "Priority 0-100 (default 50).")
  var priority: Int32?

  @Flag(help: "A higher-priority task may evict this one (it is requeued, no attempt used).")
  var preemptible = false

  @Flag(
    help:
      "Keep running if the node loses the orchestrator long enough for the task to be run elsewhere (duplicates must be harmless)."
  )
  var surviveDisconnect = false

  @Option(name: [.customShort("n"), .customLong("count")], help: "Run N copies as one group (ORCHION_INDEX 0…N-1, ORCHION_COUNT).")
  var count: Int32?

  @Option(
    help: "Run one member per line of FILE (- for standard input): ORCHION_ITEM, and {} in the command replaced by the line."
  )
  var each: String?

  @Flag(help: "With -n or --each: no two members on one node (a member waits for a node free of the others).")
  var spread = false

  @Option(help: "With -n or --each: done once K members succeeded.")
  var first: Int?

  @Flag(help: "With --first: cancel the members still running or pending then.")
  var cancelRest = false

  @Flag(help: "Print the task ID and return at once.")
  var detach = false

  @Option(
    help:
      "Run this coding-agent CLI headless on PROMPT: claude, codex, gemini, opencode, aider, goose or cursor-agent."
  )
  var agent: String?

  @Option(help: "The agent's model (its CLI's --model); ollama/NAME needs a node serving NAME.")
  var model = ""

  @Option(help: "The most agentic turns, for a CLI with such a limit.")
  var maxTurns: Int32 = 0

  @Option(help: "Continue the session of this earlier agent task, on its node.")
  var resume: String?

  @Option(
    name: .customLong("agent-arg"),
    parsing: .unconditionalSingleValue,
    help: "A further argument for the agent CLI (repeatable), e.g. --agent-arg=--dangerously-skip-permissions."
  )
  var agentArguments: [String] = []

  @Option(
    name: [.short, .customLong("output")],
    help: "With --agent: a transcript (table) or the agent's events as JSON lines (json)."
  )
  var output: OutputFormat = .table

  @Argument(help: "With --agent: what the agent is asked to do.")
  var prompt: String?

  @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
  var command: [String] = []

  func validate() throws {
    if let count, !(1...10_000).contains(count) { throw ValidationError("-n must be 1-10000") }
    if count != nil, each != nil { throw ValidationError("give -n or --each, not both") }
    if first != nil || cancelRest || spread, count == nil, each == nil {
      throw ValidationError("--first, --cancel-rest and --spread go with -n or --each")
    }
    if cancelRest, first == nil { throw ValidationError("--cancel-rest goes with --first K") }
    if let first, first < 1 { throw ValidationError("--first must be at least 1") }
    if (count != nil || each != nil), detach || resume != nil {
      throw ValidationError("-n and --each run a group: not with --detach or --resume")
    }
    if let agent {
      guard AgentFlavor(name: agent) != nil else {
        throw ValidationError(
          "--agent \(agent): one of \(AgentFlavor.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      guard let prompt, !prompt.isEmpty else {
        throw ValidationError("give the agent's prompt, e.g. orchion run --agent \(agent) \"fix the tests\"")
      }
      guard command.isEmpty else {
        throw ValidationError("--agent builds the command: give a prompt, not a command after --")
      }
      guard maxTurns >= 0 else { throw ValidationError("--max-turns must not be negative") }
    } else {
      guard prompt == nil else {
        throw ValidationError("give the command after --, e.g. orchion run -- echo hi (or --agent NAME \"PROMPT\")")
      }
      guard !command.isEmpty else {
        throw ValidationError("give the command after --, e.g. orchion run -- echo hi")
      }
    }
    if let cpu, QuantityParser.cpuMillis(cpu) == nil {
      throw ValidationError("--cpu: expected e.g. 2, 1.5 or 500m")
    }
    if let memory, QuantityParser.bytes(memory) == nil {
      throw ValidationError("--memory: expected e.g. 512Mi or 2G")
    }
    guard (0..<TaskSpec.maxAttemptsLimit).contains(retries) else {
      throw ValidationError("--retries must be 0-\(TaskSpec.maxAttemptsLimit - 1)")
    }
    if let retryOn, retryExitCodes(retryOn) == nil {
      throw ValidationError("--retry-on: expected exit codes separated by commas, e.g. 2,75")
    }
    for resource in resources where Int64(resource.value).map({ $0 < 0 }) ?? true {
      throw ValidationError("--resource \(resource.key): the amount must be a whole number >= 0")
    }
  }

  var spec: Orchion_V1_TaskSpec {
    .with {
      $0.name = name
      $0.command = command
      $0.env = Dictionary(environment.map { ($0.key, $0.value) }) { $1 }
      $0.secretEnv = Dictionary(secretEnvironment.map { ($0.key, $0.value) }) { $1 }
      $0.workdir = workdir
      $0.nodeSelector = Dictionary(selectors.map { ($0.key, $0.value) }) { $1 }
      $0.resources = .with {
        $0.cpuMillis = cpu.flatMap(QuantityParser.cpuMillis) ?? 0
        $0.memoryBytes = memory.flatMap(QuantityParser.bytes) ?? 0
        $0.gpus = gpus
      }
      if let timeout {
        $0.timeout = .with {
          $0.seconds = timeout.duration.components.seconds
          $0.nanos = Int32(timeout.duration.components.attoseconds / 1_000_000_000)
        }
      }
      $0.resources.extended = Dictionary(
        resources.compactMap { resource in Int64(resource.value).map { (resource.key, $0) } }
      ) { $1 }
      $0.maxAttempts = retries + 1
      if let priority { $0.priority = priority }
      $0.constraints = constraints
      $0.strategy = strategy?.rawValue ?? ""
      $0.preemptible = preemptible
      $0.surviveDisconnect = surviveDisconnect
      $0.retryExitCodes = retryOn.flatMap(retryExitCodes) ?? []
      if let retryBackoff { $0.retryBackoff = .init(retryBackoff.duration) }
      if let retryBackoffMax { $0.retryBackoffMax = .init(retryBackoffMax.duration) }
      if let agent {
        $0.agent = .with {
          $0.name = agent
          $0.prompt = prompt ?? ""
          $0.model = model
          $0.maxTurns = maxTurns
          $0.extraArgs = agentArguments
          $0.resume = resume ?? ""
        }
      }
    }
  }

  /// The lines of `--each` (blank ones skipped), from a file or standard input.
  func items() throws -> [String] {
    guard let each else { return [] }
    let data: Data
    if each == "-" {
      data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
      guard let read = FileManager.default.contents(atPath: each) else {
        throw ValidationError("--each \(each): cannot read it")
      }
      data = read
    }
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
      .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
      .filter { !$0.isEmpty }
    guard !lines.isEmpty else { throw ValidationError("--each \(each): no lines") }
    return lines
  }

  func run() async throws {
    let spec = spec
    if count != nil || each != nil {
      let options = GroupRun.Options(
        count: count ?? 0, items: try items(), spread: spread, first: first, cancelRest: cancelRest
      )
      let code = try await CLIErrors.reporting {
        try await client.connect { client in try await GroupRun.run(spec: spec, options: options, client: client) }
      }
      if code != 0 { throw ExitCode(code) }
      return
    }
    let format = output
    let signals = detach ? nil : await SignalForwarding.trap()
    let outcome = try await CLIErrors.reporting {
      try await client.connect { client -> Orchion_V1_Task in
        let key = Submission.freshKey()
        let task = try await Submission.retryingUnavailable {
          try await client.tasks.submitTask(
            .with {
              $0.spec = spec
              $0.idempotencyKey = key
            }
          ).task
        }
        guard let signals else { return task }
        let final = try await SignalForwarding.cancelOnInterrupt(
          task.id,
          client: client,
          signals: signals
        ) {
          if agent != nil {
            return try await AgentTranscriptPrinter.follow(
              task.id,
              client: client,
              format: format == .json ? .jsonLines : .transcript
            )
          }
          return try await LogPrinter.follow(task.id, client: client)
        }
        // An orchestrator from before the stream carried the final task needs one more call.
        if let final { return final }
        return try await client.tasks.getTask(.with { $0.taskID = task.id }).task
      }
    }
    if detach {
      Console.line(outcome.id)
      return
    }
    var code = TaskExitCode.of(outcome)
    // An agent that said it failed fails the run, whatever its CLI's exit code.
    if code == 0, outcome.hasAgentResult, outcome.agentResult.status == .failed { code = 1 }
    if code != 0 {
      if outcome.hasAgentResult, outcome.agentResult.status == .failed,
        !outcome.agentResult.error.isEmpty
      {
        Console.error(
          "orchion: agent failed: \(AgentTranscriptPrinter.printable(AgentTranscriptPrinter.oneLine(outcome.agentResult.error, limit: 500)))"
        )
      }
      if !outcome.message.isEmpty {
        Console.error("orchion: task \(outcome.id) \(outcome.state.label): \(outcome.message)")
      }
      throw ExitCode(code)
    }
  }
}

/// The exit code `orchion run` ends with.
enum TaskExitCode {
  static func of(_ task: Orchion_V1_Task) -> Int32 {
    switch task.state {
    case .succeeded: return 0
    case .cancelled: return 130
    case .failed:
      if task.termination == .timedOut { return 124 }
      // A node's exit code is a report, not a fact: only 1-255 is passed on.
      if (1...255).contains(task.exitCode) { return task.exitCode }
      return 1
    default: return 1
    }
  }
}

/// Exit codes from `2,75`; `nil` when any part is not a number.
private func retryExitCodes(_ text: String) -> [Int32]? {
  var codes: [Int32] = []
  for part in text.split(separator: ",") {
    guard let code = Int32(part.trimmingCharacters(in: .whitespaces)) else { return nil }
    codes.append(code)
  }
  return codes.isEmpty ? nil : codes
}
