import ArgumentParser
import OrchionCore

/// The `orchion` command: run AI agents across every machine you own (started by main.swift).
struct Orchion: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "orchion",
    abstract: "Run AI agents across every machine you own.",
    version: OrchionVersion.current,
    subcommands: [
      UpCommand.self, ServerCommand.self, AgentCommand.self, RunCommand.self, NodesCommand.self,
      TasksCommand.self, TaskCommand.self, LogsCommand.self, CancelCommand.self, CordonCommand.self,
      UncordonCommand.self, DrainCommand.self, TokenCommand.self, SecretCommand.self,
      CertsCommand.self, MsgCommand.self, AdminCommand.self, DashboardCommand.self,
      MCPCommand.self, GroupCommand.self,
    ]
  )
}
