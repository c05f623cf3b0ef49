import ArgumentParser
import Foundation
import GRPCCore
import OrchionAPI
import OrchionClient
import OrchionCommandLine
import SwiftProtobuf

/// `orchion group ID`: a group's members as a table (or JSON); `orchion group logs ID`: every
/// member's output, each line prefixed with the member's index.
struct GroupCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "group",
    abstract: "Show a task group (orchion run -n / --each): members, states, exit codes, durations.",
    subcommands: [GroupShowCommand.self, GroupLogsCommand.self],
    defaultSubcommand: GroupShowCommand.self
  )
}

struct GroupShowCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a group.")

  @OptionGroup var client: ClientOptions

  @Option(name: [.short, .customLong("output")], help: "Output format: table or json.")
  var output: OutputFormat = .table

  @Argument(help: "The group ID (g…).")
  var id: String

  func run() async throws {
    let group = try await CLIErrors.reporting {
      try await client.connect { try await $0.taskGroup(id) }
    }
    switch output {
    case .json:
      Console.line(try group.jsonString())
    case .table:
      Console.line(
        "group \(group.id): \(group.size) members — \(group.succeeded) succeeded, \(group.failed) failed, \(group.cancelled) cancelled, \(group.running) running, \(group.pending) pending"
      )
      var table = TextTable(columns: ["INDEX", "TASK", "STATE", "EXIT", "NODE", "DURATION", "ITEM"])
      for member in group.members {
        table.append([
          "\(member.index)", member.taskID, member.state.label,
          member.hasExitCode ? "\(member.exitCode)" : "-", member.nodeID.isEmpty ? "-" : member.nodeID,
          member.hasDuration ? Self.seconds(member.duration) : "-", member.item.isEmpty ? "-" : member.item,
        ])
      }
      Console.write(table.render())
    }
  }

  static func seconds(_ duration: Google_Protobuf_Duration) -> String {
    String(format: "%.1fs", Double(duration.seconds) + Double(duration.nanos) / 1e9)
  }
}

struct GroupLogsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "logs",
    abstract: "Print every member's output, in index order, each line prefixed with its index."
  )

  @OptionGroup var client: ClientOptions

  @Argument(help: "The group ID (g…).")
  var id: String

  func run() async throws {
    try await CLIErrors.reporting {
      try await client.connect { client in
        let group = try await client.taskGroup(id)
        for member in group.members {
          try await client.tasks.streamTaskLogs(.with { $0.taskID = member.taskID }) { response in
            var pending = Data()
            for try await chunk in response.messages where !chunk.hasFinalTask {
              pending.append(chunk.data)
              while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                Console.write("[\(member.index)] " + String(decoding: pending[..<newline], as: UTF8.self) + "\n")
                pending.removeSubrange(...newline)
              }
            }
            if !pending.isEmpty { Console.write("[\(member.index)] " + String(decoding: pending, as: UTF8.self) + "\n") }
          }
        }
      }
    }
  }
}
