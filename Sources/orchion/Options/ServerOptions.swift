import ArgumentParser
import OrchionCore
import OrchionServer

/// The orchestrator's flags, shared by `orchion server` and `orchion up`.
struct ServerOptions: ParsableArguments {
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

  @Option(help: "How tasks are placed unless they say: binpack, spread or round-robin.")
  var strategy: PlacementStrategy = .binpack

  @Option(
    help: "A task pending this long that fits nowhere holds a node until it fits (e.g. 5m)."
  )
  var reserveAfter = DurationArgument(.seconds(300))

  @Option(help: "How long in-flight requests may take to finish on shutdown.")
  var shutdownGrace = DurationArgument(.seconds(10))

  @Option(
    help: "Task output kept per task on the orchestrator, in bytes (older output is dropped)."
  )
  var maxLogBytesPerTask = 1 << 20

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
    guard maxLogBytesPerTask > 0 else {
      throw ValidationError("--max-log-bytes-per-task must be greater than 0")
    }
  }

  /// The orchestrator configuration these flags describe.
  var configuration: Orchestrator.Configuration {
    .defaults {
      $0.host = host
      $0.port = port
      $0.nodes.heartbeatTimeout = heartbeatTimeout.duration
      $0.nodes.lostAfter = lostAfter.duration
      $0.maxLogBytesPerTask = maxLogBytesPerTask
      $0.strategy = strategy
      $0.reserveAfter = reserveAfter.duration
    }
  }

  /// The address local clients should dial once the server listens on `port`.
  func clientAddress(port: Int) -> ServerAddress {
    let wildcard = host == "0.0.0.0" || host == "::"
    return ServerAddress(host: wildcard ? "127.0.0.1" : host, port: port)
  }
}

extension PlacementStrategy: ExpressibleByArgument {}
