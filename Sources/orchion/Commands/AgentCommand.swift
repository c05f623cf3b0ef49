import ArgumentParser
import Foundation
import OrchionAgent
import OrchionCommandLine
import OrchionCore

/// `orchion agent`: join this machine to an orchestrator and run what it assigns.
struct AgentCommand: AsyncParsableCommand, RunsOnEventLoops {
  static let configuration = CommandConfiguration(
    commandName: "agent",
    abstract: "Join this machine to an orchestrator and run the tasks it assigns.",
    discussion: "The agent dials out to the orchestrator, so it works behind NAT."
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
