import ArgumentParser
import Foundation
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// `orchion task ID`: one task in detail.
struct TaskCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "task",
    abstract: "Show one task in detail."
  )

  @OptionGroup var client: ClientOptions

  @Argument(help: "The task ID.")
  var id: String

  @Option(name: [.short, .customLong("output")], help: "Output format: table or json.")
  var output: OutputFormat = .table

  func run() async throws {
    let task = try await CLIErrors.reporting {
      try await client.connect { client in
        try await client.tasks.getTask(.with { $0.taskID = id }).task
      }
    }
    if output == .json {
      Console.line(try task.jsonString())
      return
    }
    var lines = [
      ("ID", task.id), ("Name", task.spec.name), ("State", task.state.label),
      ("Command", task.spec.command.joined(separator: " ")), ("Node", task.nodeID),
      ("Attempt", "\(task.attempt) of \(max(1, task.spec.maxAttempts))"),
      ("Priority", "\(task.spec.priority)"),
    ]
    if task.state.isFinished {
      lines.append(("Exit code", "\(task.exitCode)"))
      lines.append(("Ended by", task.termination.label))
    }
    if !task.message.isEmpty { lines.append(("Message", task.message)) }
    if task.spec.hasAgent {
      let agent = task.spec.agent
      lines.append(("Agent", agent.name + (agent.model.isEmpty ? "" : " (\(agent.model))")))
      if !agent.resume.isEmpty { lines.append(("Resumes", agent.resume)) }
    }
    if task.hasAgentResult {
      let result = task.agentResult
      lines.append(("Session", result.sessionID))
      lines.append(("Result", AgentTranscriptPrinter.summary(result)))
      if !result.text.isEmpty {
        lines.append(("Answer", AgentTranscriptPrinter.oneLine(result.text, limit: 400)))
      }
      if result.unparsedLines > 0 {
        lines.append(("Unparsed", "\(result.unparsedLines) output lines were not the CLI's JSON (orchion logs)"))
      }
    }
    if task.hasNotBefore, task.state == .pending {
      lines.append(("Retry at", Self.time(task.notBefore)))
    }
    for (label, value) in lines where !value.isEmpty {
      Console.line(label.padding(toLength: 10, withPad: " ", startingAt: 0) + value)
    }
    guard !task.attempts.isEmpty else { return }
    Console.line("")
    var table = TextTable(columns: [
      "#", "NODE", "OUTCOME", "ENDED BY", "EXIT", "STARTED", "ENDED", "REASON",
    ])
    for attempt in task.attempts {
      table.append([
        "\(attempt.number)", attempt.nodeID, attempt.outcome.label, attempt.termination.label,
        attempt.hasExitCode ? "\(attempt.exitCode)" : "-",
        attempt.hasStartedAt ? Self.time(attempt.startedAt) : "-",
        attempt.hasFinishedAt ? Self.time(attempt.finishedAt) : "-", attempt.reason,
      ])
    }
    Console.write(table.render())
  }

  private static func time(_ timestamp: Google_Protobuf_Timestamp) -> String {
    timestamp.displayText
  }
}

extension Orchion_V1_AttemptOutcome {
  var label: String {
    switch self {
    case .active: "ACTIVE"
    case .succeeded: "SUCCEEDED"
    case .failed: "FAILED"
    case .lost: "LOST"
    case .preempted: "PREEMPTED"
    case .drained: "DRAINED"
    case .cancelled: "CANCELLED"
    case .unspecified, .UNRECOGNIZED: "UNKNOWN"
    }
  }
}

/// `orchion logs [-f] ID`: a task's output.
struct LogsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "logs",
    abstract: "Print a task's output; -f follows it until the task ends."
  )

  @OptionGroup var client: ClientOptions

  @Flag(name: [.short, .long], help: "Keep printing new output until the task ends.")
  var follow = false

  @Argument(help: "The task ID.")
  var id: String

  func run() async throws {
    try await CLIErrors.reporting {
      try await client.connect { client in
        _ = try await LogPrinter.follow(id, client: client, follow: follow)
      }
    }
  }
}

/// `orchion cancel ID`: cancel a task.
struct CancelCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cancel",
    abstract: "Cancel a task: a pending one never runs; a running one has its process tree killed."
  )

  @OptionGroup var client: ClientOptions

  @Argument(help: "The task ID, or a group ID (g…) to cancel every unfinished member.")
  var id: String

  func run() async throws {
    if id.hasPrefix("g") {
      let group = try await CLIErrors.reporting {
        try await client.connect { client in
          try await client.tasks.cancelTaskGroup(.with { $0.groupID = id }).group
        }
      }
      Console.line(
        "\(group.id): \(group.cancelled) cancelled, \(group.succeeded) succeeded, \(group.failed) failed, \(group.running) stopping"
      )
      return
    }
    let task = try await CLIErrors.reporting {
      try await client.connect { client in
        try await client.tasks.cancelTask(.with { $0.taskID = id }).task
      }
    }
    Console.line("\(task.id) \(task.state.label)\(task.message.isEmpty ? "" : ": \(task.message)")")
  }
}

extension Orchion_V1_TerminationReason {
  /// As `orchion task` shows it; "-" while running.
  var label: String {
    switch self {
    case .unspecified: "-"
    case .exited: "exited"
    case .signalled: "signalled"
    case .timedOut: "timed out"
    case .cancelled: "cancelled"
    case .lost: "lost"
    case .preempted: "preempted"
    case .drained: "drained"
    case .couldNotStart: "could not start"
    case .spawnerDied: "spawner died"
    case .UNRECOGNIZED(let value): "unknown (\(value))"
    }
  }
}
