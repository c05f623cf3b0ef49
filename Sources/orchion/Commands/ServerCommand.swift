import ArgumentParser
import Logging
import OrchionCommandLine
import OrchionCore
import OrchionServer
import ServiceLifecycle

/// `orchion server`: the control plane.
struct ServerCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "server",
    abstract: "Run the orchestrator: node registry, heartbeats, scheduling and the gRPC API."
  )

  @OptionGroup var server: ServerOptions
  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    let logger = logging.bootstrap(label: "orchion.server")
    _ = try DataDirectory.prepare(server.dataDir)
    let orchestrator = try await Orchestrator(
      configuration: try server.configuration(),
      logger: logger
    )
    try await ServiceRunner.run(
      services: orchestrator.services,
      shutdownGrace: server.shutdownGrace.duration,
      logger: logger
    ) {
      let address = server.clientAddress(port: try await orchestrator.listeningPort())
      logger.notice("orchestrator listening", metadata: [LoggingKeys.address: "\(address)"])
      let tokens = try await ServerCredentials.prepare(
        orchestrator: orchestrator,
        options: server,
        address: address,
        logger: logger
      )
      Console.line("orchion server listening on \(address)")
      if let join = tokens.newJoin {
        Console.line(
          """
          created the first tokens (kept in \(server.dataDir), mode 0600); this machine's CLI uses \
          the admin token from \(ClientConfigFile.path)
            join a machine:  orchion agent --server \(server.joinAddress(port: address.port)) --token \(join)
          """
        )
      }
    }
  }
}
