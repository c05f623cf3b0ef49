import ArgumentParser
import Foundation
import OrchionAgent
import OrchionClient
import OrchionCommandLine
import OrchionCore
import OrchionServer
import OrchionWeb
import ServiceLifecycle

/// `orchion up`: an orchestrator and a local agent in one process — a working cluster of one.
struct UpCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "up",
    abstract: "Start an orchestrator and a local agent in one process: a cluster of one."
  )

  @OptionGroup var server: ServerOptions
  @OptionGroup var agent: AgentOptions
  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    let logger = logging.bootstrap(label: "orchion.up")
    let dataDir = try DataDirectory.prepare(server.dataDir)
    let exporter = MetricsExporter()
    var serverConfiguration = try server.configuration()
    serverConfiguration.metricsFactory = exporter.factory
    let orchestrator = try await Orchestrator(configuration: serverConfiguration, logger: logger)
    let web = server.makeWebServer(orchestrator: orchestrator, exporter: exporter, logger: logger)
    // The agent learns the real port once the server is bound (port 0 picks one).
    let agentService = DeferredService()
    try await ServiceRunner.run(
      // Last in, first out: the HTTP server stops first, the agent before the orchestrator.
      services: orchestrator.services + [agentService] + (web.map { [$0] } ?? []),
      shutdownGrace: server.shutdownGrace.duration + agent.killGrace.duration,
      logger: logger
    ) {
      let address = server.clientAddress(port: try await orchestrator.listeningPort())
      let tokens = try await ServerCredentials.prepare(
        orchestrator: orchestrator,
        options: server,
        address: address,
        logger: logger
      )
      var configuration = try agent.configuration(
        server: address,
        dataDirectory: try DataDirectory.prepare(
          (dataDir as NSString).appendingPathComponent("agent")
        )
      )
      let joinPath = ServerCredentials.joinTokenPath(dataDirectory: server.dataDir)
      var joinToken = tokens.newJoin ?? PrivateFile.readText(joinPath)
      if joinToken == nil, !server.noAuth,
        let minted = try await orchestrator.mintJoinToken(description: "orchion up's agent")
      {
        try PrivateFile.write(Data((minted + "\n").utf8), to: joinPath)
        joinToken = minted
      }
      // A join token, not the admin token: the local agent can register and run its node, and
      // nothing else, however the tasks it runs (as this user) get at its memory or files.
      configuration.token = server.noAuth ? nil : joinToken
      configuration.tls = try localAgentTLS()
      // Read: out of this process's command line and environment, where its tasks could read
      // them from /proc.
      VisibleCredentials.scrub()
      agentService.start(Agent(configuration: configuration, logger: logger))
      let dashboard = try await ServerOptions.dashboardLine(web).map { "\n  \($0)" } ?? ""
      let shownJoinToken = joinToken ?? "<a join token: orchion token create --join>"
      let joinAddress = server.joinAddress(port: address.port)
      let joinLine =
        await ServerOptions.joinLine(web: web, grpcAddress: joinAddress, token: shownJoinToken)
        ?? "orchion agent --server \(joinAddress) --token \(shownJoinToken)"
      Console.line(
        """
        orchion is up: orchestrator listening on \(address), with a local agent\(dashboard)
          run a task:      orchion run -- echo hello
          see the nodes:   orchion nodes
          join a machine:  \(joinLine)\
        \(Authentication.isLoopback(server.host) ? "\n                   (restart with --host 0.0.0.0 to accept other machines)" : "")
        """
      )
    }
  }
}

extension UpCommand {
  /// How the local agent reaches a TLS orchestrator: it trusts the client CA (one CA usually
  /// signs both sides, as `orchion certs init` does) or the client config's `tls_ca`, and for
  /// mutual TLS presents the client config's certificate, else the server's own (which
  /// `orchion certs init` makes good for client authentication too).
  func localAgentTLS() throws -> ClientTLS? {
    guard let certificate = server.tlsCert else { return nil }
    let config = ClientConfigFile.load()
    guard let ca = server.tlsClientCA ?? config?.tlsCA else {
      throw ValidationError(
        "orchion up with --tls-cert: the local agent needs the CA to verify it; give --tls-client-ca or set tls_ca in \(ClientConfigFile.path)"
      )
    }
    guard server.tlsClientCA != nil else { return ClientTLS(caPath: ca) }
    return ClientTLS(
      caPath: ca,
      certificatePath: config?.tlsCert ?? certificate,
      keyPath: config?.tlsCert == nil ? server.tlsKey : config?.tlsKey
    )
  }
}

/// A service whose real work is handed over after the group started (the agent needs the
/// orchestrator's bound port first). Until then it waits; on shutdown it passes the signal on.
final class DeferredService: Service, Sendable {
  private let (services, continuation) = AsyncStream.makeStream(
    of: (any Service).self,
    bufferingPolicy: .bufferingNewest(1)
  )

  func start(_ service: any Service) {
    continuation.yield(service)
    continuation.finish()
  }

  func run() async throws {
    for await service in services.cancelOnGracefulShutdown() {
      try await service.run()
    }
  }
}
