import ArgumentParser
import Foundation
import OrchionAgent
import OrchionCore
import OrchionServer
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
    let orchestrator = try await Orchestrator(configuration: server.configuration, logger: logger)
    // The agent learns the real port once the server is bound (port 0 picks one).
    let agentService = DeferredService()
    try await ServiceRunner.run(
      services: orchestrator.services + [agentService],
      shutdownGrace: server.shutdownGrace.duration + agent.killGrace.duration,
      logger: logger
    ) {
      let address = server.clientAddress(port: try await orchestrator.listeningPort())
      let configuration = try agent.configuration(
        server: address,
        dataDirectory: try DataDirectory.prepare(
          (dataDir as NSString).appendingPathComponent("agent")
        )
      )
      agentService.start(Agent(configuration: configuration, logger: logger))
      ClientConfigFile.record(server: address, logger: logger)
      Console.line(
        """
        orchion is up: orchestrator listening on \(address), with a local agent
          run a task:      orchion run -- echo hello
          see the nodes:   orchion nodes
          join a machine:  orchion agent --server \(server.host == "127.0.0.1" ? "<this machine's address>" : server.host):\(address.port)\
        \(server.host == "127.0.0.1" ? "   (restart with --host 0.0.0.0 to accept other machines)" : "")
        """
      )
    }
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
