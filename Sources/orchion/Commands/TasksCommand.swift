import ArgumentParser
import Foundation
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import OrchionCore
import SwiftProtobuf

/// `orchion tasks`: list tasks, newest first.
struct TasksCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tasks",
    abstract: "List tasks, newest first."
  )

  @OptionGroup var client: ClientOptions

  @Option(
    help: "Only tasks in this state: pending, assigned, running, succeeded, failed, cancelled."
  )
  var state: StateFilter?

  @Option(help: "Only tasks of this node.")
  var node: String?

  @Option(help: "Only agent tasks of this CLI, e.g. claude.")
  var agent: String?

  @Option(help: "At most this many tasks (1-1000).")
  var limit: Int32 = 100

  @Option(name: [.short, .customLong("output")], help: "Output format: table or json.")
  var output: OutputFormat = .table

  enum StateFilter: String, ExpressibleByArgument, CaseIterable {
    case pending, assigned, running, succeeded, failed, cancelled

    var proto: Orchion_V1_TaskState {
      switch self {
      case .pending: .pending
      case .assigned: .assigned
      case .running: .running
      case .succeeded: .succeeded
      case .failed: .failed
      case .cancelled: .cancelled
      }
    }
  }

  func run() async throws {
    let request = Orchion_V1_ListTasksRequest.with {
      $0.state = state?.proto ?? .unspecified
      $0.nodeID = node ?? ""
      $0.agent = agent ?? ""
      $0.pageSize = limit
    }
    let response = try await CLIErrors.reporting {
      try await client.connect { client in
        try await client.tasks.listTasks(request)
      }
    }
    switch output {
    case .json:
      Console.line(try response.jsonString())
    case .table:
      var table = TextTable(columns: [
        "ID", "NAME", "AGENT", "STATE", "NODE", "ATTEMPT", "EXIT", "AGE", "MESSAGE",
      ])
      let now = SystemClock().now
      for task in response.tasks {
        table.append([
          task.id, task.spec.name.isEmpty ? "-" : task.spec.name,
          task.spec.hasAgent ? task.spec.agent.name : "-", task.state.label,
          task.nodeID.isEmpty ? "-" : task.nodeID, "\(task.attempt)",
          task.state.isFinished ? "\(task.exitCode)" : "-",
          Age.since(task.createdAt, now: now), String(task.message.prefix(60)),
        ])
      }
      Console.write(table.render())
    }
  }
}

/// "3s", "2m", "5h" since a timestamp.
enum Age {
  static func since(_ timestamp: Google_Protobuf_Timestamp, now: UTCInstant) -> String {
    let then = UTCInstant(
      nanosecondsSinceEpoch: timestamp.seconds * 1_000_000_000 + Int64(timestamp.nanos)
    )
    let seconds = max(0, then.duration(to: now).components.seconds)
    return DurationFormat.format(.seconds(seconds < 120 ? seconds : seconds - seconds % 60))
  }
}
