import ArgumentParser
import Logging
import OrchionCore
import OrchionServer
import ServiceLifecycle

/// `orchion server`: the control plane.
struct ServerCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "server",
    abstract: "Run the orchestrator: node registry, heartbeat monitoring and the gRPC API."
  )

  @Option(help: "Address to listen on. 127.0.0.1 keeps the API on this machine.")
  var host = "127.0.0.1"

  @Option(help: "Port to listen on (0 picks a free one).")
  var port = ServerAddress.defaultPort

  @Option(help: "Silence after which a node becomes INACTIVE (e.g. 500ms, 30s, 1m).")
  var heartbeatTimeout = DurationArgument(.seconds(30))

  @Option(help: "Further silence after which an INACTIVE node becomes DISCONNECTED.")
  var lostAfter = DurationArgument(.seconds(60))

  @Option(help: "Directory for Orchion's state.")
  var dataDir = DataDirectory.defaultPath

  @Option(help: "How long in-flight requests may take to finish on shutdown.")
  var shutdownGrace = DurationArgument(.seconds(10))

  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    guard (0...65_535).contains(port) else {
      throw ValidationError("--port must be 0-65535")
    }
    guard heartbeatTimeout.duration > .zero else {
      throw ValidationError("--heartbeat-timeout must be greater than 0")
    }
    guard lostAfter.duration >= .zero else {
      throw ValidationError("--lost-after must not be negative")
    }
  }

  func run() async throws {
    let logger = logging.bootstrap(label: "orchion.server")
    _ = try DataDirectory.prepare(dataDir)
    let orchestrator = Orchestrator(
      configuration: .defaults {
        $0.host = host
        $0.port = port
        $0.nodes.heartbeatTimeout = heartbeatTimeout.duration
        $0.nodes.lostAfter = lostAfter.duration
      },
      logger: logger
    )
    try await ServiceRunner.run(
      services: orchestrator.services,
      shutdownGrace: shutdownGrace.duration,
      logger: logger
    ) {
      let address = ServerAddress(host: host, port: try await orchestrator.listeningPort())
      logger.notice("orchestrator listening", metadata: [LoggingKeys.address: "\(address)"])
      Console.line("orchion server listening on \(address)")
    }
  }
}
