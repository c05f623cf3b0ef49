import ArgumentParser
import Foundation
import OrchionCommandLine
import OrchionCore
import OrchionServer
import OrchionStore
import OrchionWeb

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

  @Option(help: "Directory for Orchion's state (the SQLite database orchion.db, unless --store).")
  var dataDir = DataDirectory.defaultPath

  @Option(
    help: ArgumentHelp(
      "Where state is kept: postgres://user:password@host:port/database (several orchestrators), sqlite:PATH, or memory. Default: <data-dir>/orchion.db; also ORCHION_STORE.",
      valueName: "location"
    )
  )
  var store: String?

  @Option(
    help: ArgumentHelp(
      "A file holding the --store location (keeps a postgres:// password off the command line, which every local user can read).",
      valueName: "path"
    )
  )
  var storeFile: String?

  @Option(
    help:
      "With a shared postgres:// store: how long the leader lease lasts unrenewed, i.e. how soon a dead or frozen leader is replaced (e.g. 5s)."
  )
  var leaderLease = DurationArgument(.seconds(5))

  @Option(
    help:
      "The address other machines reach this orchestrator at (tasks' ORCHION_SERVER; the leader's address followers name). Default: --host:--port."
  )
  var advertiseAddress: String?

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

  @Option(
    help:
      "Most message mailboxes the router holds at once (queues, nodes, tasks, topic consumers); beyond it a send or subscription is refused."
  )
  var maxMailboxes = 10_000

  @Option(
    help:
      "An admin token this orchestrator accepts besides the stored ones (default: $ORCHION_TOKEN), at least 16 characters. Without one, an admin and a join token are created on first start."
  )
  var token: String?

  /// The shortest admin token accepted: a short one could be guessed by anyone who can reach
  /// the port (created tokens carry 160 random bits).
  static let minimumTokenLength = 16

  @Flag(
    help:
      "Accept calls without a token (development only). Refused unless --host is a loopback address."
  )
  var noAuth = false

  @Option(
    help: "Node registrations refilled per second for each join token (admin tokens: no limit)."
  )
  var registrationRate = 200.0

  @Option(help: "Node registrations one join token may make at once.")
  var registrationBurst = 2_000

  @Option(
    help:
      "Most connections held at once, in all (also kept 256 below the open-file limit)."
  )
  var maxConnections = ConnectionLimits.defaults.maxConnections

  @Option(
    help: "Most connections held at once from one IP address (agents behind one NAT share one)."
  )
  var maxConnectionsPerAddress = ConnectionLimits.defaults.maxConnectionsPerAddress

  @Option(help: "A new connection that has not started HTTP/2 within this long is closed.")
  var handshakeTimeout = DurationArgument(ConnectionLimits.defaults.handshakeTimeout)

  @Option(
    help: ArgumentHelp(
      "Port of the HTTP server beside gRPC (dashboard, /metrics, /healthz, /readyz), on --host with the same TLS; 'off' for none. Default: --port + 1 (50052), or a free one with --port 0.",
      valueName: "port|off"
    )
  )
  var httpPort: String?

  @Option(
    help: ArgumentHelp(
      "Directory of `make dist` builds (orchion-linux-<arch>) to serve at /download beside this executable. Default: dist/ next to the executable's directory, if it exists.",
      valueName: "path"
    )
  )
  var distDir: String?

  @Flag(help: "Serve /metrics without a token (for Prometheus on a trusted network).")
  var metricsPublic = false

  @Option(
    name: .customLong("mcp-allowed-origin"),
    help: ArgumentHelp(
      "A web origin (scheme://host[:port]) whose pages may call /mcp, besides loopback ones (repeatable).",
      valueName: "origin"
    )
  )
  var mcpAllowedOrigins: [String] = []

  @Option(help: "PEM certificate chain to serve TLS with (with --tls-key).")
  var tlsCert: String?

  @Option(help: "PEM private key of --tls-cert.")
  var tlsKey: String?

  @Option(
    name: .customLong("tls-client-ca"),
    help: "PEM CA every client certificate must chain to: mutual TLS (needs --tls-cert)."
  )
  var tlsClientCA: String?

  func validate() throws {
    for origin in mcpAllowedOrigins where !MCPOrigins.isValid(origin) {
      throw ValidationError("--mcp-allowed-origin \(origin): expected scheme://host[:port], e.g. https://ide.example.com")
    }
    guard registrationRate > 0, registrationBurst > 0 else {
      throw ValidationError("--registration-rate and --registration-burst must be positive")
    }
    guard (tlsCert == nil) == (tlsKey == nil) else {
      throw ValidationError("--tls-cert and --tls-key go together")
    }
    guard tlsClientCA == nil || tlsCert != nil else {
      throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key")
    }
    for path in [tlsCert, tlsKey, tlsClientCA].compactMap({ $0 })
    where !FileManager.default.isReadableFile(atPath: path) {
      throw ValidationError("cannot read \(path)")
    }
    do {
      try Authentication(enabled: !noAuth).check(listeningOn: host)
    } catch {
      throw ValidationError(error.message)
    }
    if let adminToken, adminToken.count < Self.minimumTokenLength {
      throw ValidationError(
        "--token (or ORCHION_TOKEN) is \(adminToken.count) characters; an admin token needs at least \(Self.minimumTokenLength) (e.g. openssl rand -hex 20)"
      )
    }
    if case .postgres = storeLocation, !noAuth, adminToken == nil {
      // Only the leader could create first tokens, and at start none leads yet.
      throw ValidationError(
        "with a shared postgres:// store, give every orchestrator the same admin token: --token T or ORCHION_TOKEN (then orchion token create --join for agents)"
      )
    }
    guard (0...65_535).contains(port) else {
      throw ValidationError("--port must be 0-65535")
    }
    if let httpPort, httpPort != "off" {
      guard let number = Int(httpPort), (0...65_535).contains(number) else {
        throw ValidationError("--http-port must be 0-65535 or off, not \(httpPort)")
      }
      guard number == 0 || number != port else {
        throw ValidationError("--http-port must differ from --port (\(port))")
      }
    }
    guard heartbeatTimeout.duration > .zero else {
      throw ValidationError("--heartbeat-timeout must be greater than 0")
    }
    guard lostAfter.duration >= .zero else {
      throw ValidationError("--lost-after must not be negative")
    }
    if let store = try StoreArgument.text(argument: store, file: storeFile) {
      do {
        _ = try StoreLocation(parsing: store)
      } catch {
        throw ValidationError(error.message)
      }
    }
    StoreArgument.warnAboutPassword(in: store)
    guard leaderLease.duration >= .milliseconds(300) else {
      throw ValidationError("--leader-lease must be at least 300ms")
    }
    if let advertiseAddress {
      do {
        _ = try ServerAddress(parsing: advertiseAddress)
      } catch {
        throw ValidationError("--advertise-address: \(error.message)")
      }
    }
    guard maxLogBytesPerTask > 0 else {
      throw ValidationError("--max-log-bytes-per-task must be greater than 0")
    }
    guard maxMailboxes > 0 else {
      throw ValidationError("--max-mailboxes must be greater than 0")
    }
    guard maxConnections > 0, maxConnectionsPerAddress > 0 else {
      throw ValidationError("--max-connections and --max-connections-per-address must be positive")
    }
    guard handshakeTimeout.duration > .zero else {
      throw ValidationError("--handshake-timeout must be greater than 0")
    }
  }

  /// Where state is kept: `--store`, else `--store-file`'s contents, else `ORCHION_STORE`, else
  /// the data directory's database.
  var storeLocation: StoreLocation {
    if let text = try? StoreArgument.text(argument: store, file: storeFile),
      let location = try? StoreLocation(parsing: text)
    {
      return location
    }
    return .sqlite(path: (dataDir as NSString).appendingPathComponent("orchion.db"))
  }

  /// The admin token given: `--token`, else `ORCHION_TOKEN`.
  var adminToken: String? {
    token ?? ProcessInfo.processInfo.environment["ORCHION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// The orchestrator configuration these flags describe, with the secrets key from the data
  /// directory (created on first start).
  func configuration() throws -> Orchestrator.Configuration {
    var configuration = baseConfiguration
    configuration.secretsKey = try ServerCredentials.secretsKey(dataDirectory: dataDir)
    return configuration
  }

  /// The configuration these flags describe, without reading the data directory.
  var baseConfiguration: Orchestrator.Configuration {
    .defaults {
      $0.authentication = Authentication(
        enabled: !noAuth,
        adminTokens: adminToken.map { [$0] } ?? [],
        registrationsPerSecond: registrationRate,
        registrationBurst: registrationBurst
      )
      if let tlsCert, let tlsKey {
        $0.tls = ServerTLS(certificatePath: tlsCert, keyPath: tlsKey, clientCAPath: tlsClientCA)
      }
      $0.store = storeLocation
      $0.leaderLease = leaderLease.duration
      $0.advertisedAddress = advertiseAddress ?? ""
      $0.host = host
      $0.port = port
      $0.nodes.heartbeatTimeout = heartbeatTimeout.duration
      $0.nodes.lostAfter = lostAfter.duration
      $0.maxLogBytesPerTask = maxLogBytesPerTask
      $0.maxMailboxes = maxMailboxes
      $0.strategy = strategy
      $0.reserveAfter = reserveAfter.duration
      $0.connections = ConnectionLimits(
        // Past the open-file limit accept fails for everyone; refusing first keeps
        // descriptors for the store, the log and the connections already held.
        maxConnections: max(1, min(maxConnections, FileDescriptorLimit.current - 256)),
        maxConnectionsPerAddress: maxConnectionsPerAddress,
        handshakeTimeout: handshakeTimeout.duration
      )
    }
  }

  /// The address to tell other machines in a join command.
  func joinAddress(port: Int) -> String {
    if let advertiseAddress { return advertiseAddress }
    if Authentication.isLoopback(host) { return "<this machine's address>:\(port)" }
    let wildcard = host == "0.0.0.0" || host == "::"
    return "\(wildcard ? ProcessInfo.processInfo.hostName : host):\(port)"
  }

  /// The address local clients should dial once the server listens on `port`.
  func clientAddress(port: Int) -> ServerAddress {
    let wildcard = host == "0.0.0.0" || host == "::"
    return ServerAddress(host: wildcard ? "127.0.0.1" : host, port: port)
  }
}

extension PlacementStrategy: ExpressibleByArgument {}
