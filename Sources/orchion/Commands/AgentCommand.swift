import ArgumentParser
import Foundation
import OrchionAgent
import OrchionCommandLine
import OrchionCore

/// `orchion agent`: join this machine to an orchestrator and run what it assigns (`run`, the
/// default), or make that a service that starts at boot (`install-service`).
struct AgentCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "agent",
    abstract: "Join this machine to an orchestrator and run the tasks it assigns.",
    discussion: "The agent dials out to the orchestrator, so it works behind NAT.",
    subcommands: [AgentRunCommand.self, InstallServiceCommand.self, UninstallServiceCommand.self],
    defaultSubcommand: AgentRunCommand.self
  )
}

/// `orchion agent [run]`: the agent itself.
struct AgentRunCommand: AsyncParsableCommand, RunsOnEventLoops {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Join this machine to an orchestrator and run the tasks it assigns (the default)."
  )

  @OptionGroup var client: ClientOptions
  @OptionGroup var agent: AgentOptions

  @Option(help: "Directory for the agent's state (its node ID).")
  var dataDir = (DataDirectory.defaultPath as NSString).appendingPathComponent("agent")

  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    let logger = logging.bootstrap(label: "orchion.agent")
    let servers = try client.addresses()
    var configuration = try agent.configuration(
      server: try client.address(),
      dataDirectory: try DataDirectory.prepare(dataDir)
    )
    configuration.otherServers = Array(servers.dropFirst())
    configuration.token = client.resolvedToken()
    configuration.tls = client.resolvedTLS()
    // Read: now out of this process's command line and environment, where the tasks it runs
    // (as the same user) could read them from /proc.
    VisibleCredentials.scrub()
    try await ServiceRunner.run(
      services: [Agent(configuration: configuration, logger: logger)],
      shutdownGrace: configuration.killGrace + .seconds(5),
      logger: logger
    ) {}
  }
}
