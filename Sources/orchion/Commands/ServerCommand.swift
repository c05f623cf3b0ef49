import ArgumentParser
import Logging
import OrchionCommandLine
import OrchionCore
import OrchionServer
import OrchionWeb
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
    let exporter = MetricsExporter()
    var configuration = try server.configuration()
    configuration.metricsFactory = exporter.factory
    let orchestrator = try await Orchestrator(configuration: configuration, logger: logger)
    let web = server.makeWebServer(orchestrator: orchestrator, exporter: exporter, logger: logger)
    // Last in, first out: the HTTP server (and its live streams) stops before the API.
    try await ServiceRunner.run(
      services: orchestrator.services + (web.map { [$0] } ?? []),
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
      if let line = try await ServerOptions.dashboardLine(web) { Console.line(line) }
      if let join = tokens.newJoin {
        let joinAddress = server.joinAddress(port: address.port)
        let curl = await ServerOptions.joinLine(web: web, grpcAddress: joinAddress, token: join)
        Console.line(
          """
          created the first tokens (kept in \(server.dataDir), mode 0600); this machine's CLI uses \
          the admin token from \(ClientConfigFile.path)
            join a machine:  \(curl ?? "orchion agent --server \(joinAddress) --token \(join)")\
          \(curl == nil ? "" : "\n    (or, where orchion is installed: orchion agent --server \(joinAddress) --token \(join))")
          """
        )
      }
    }
  }
}
