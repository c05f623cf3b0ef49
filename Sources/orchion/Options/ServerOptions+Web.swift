import Logging
import OrchionCommandLine
import OrchionServer
import OrchionWeb

extension ServerOptions {
  /// Where the HTTP server listens: `--http-port`, else the port after `--port` (50052 by
  /// default, a free one with `--port 0`); `nil` with `--http-port off`.
  var webConfiguration: WebConfiguration? {
    let chosen: Int
    switch httpPort {
    case "off": return nil
    case let text?: chosen = Int(text) ?? 0
    case nil: chosen = port == 0 || port == 65_535 ? 0 : port + 1
    }
    var tls: ServerTLS?
    if let tlsCert, let tlsKey {
      tls = ServerTLS(certificatePath: tlsCert, keyPath: tlsKey, clientCAPath: tlsClientCA)
    }
    return WebConfiguration(host: host, port: chosen, tls: tls, metricsPublic: metricsPublic)
  }

  /// The orchestrator's HTTP server, or `nil` with `--http-port off`.
  func makeWebServer(
    orchestrator: Orchestrator,
    exporter: MetricsExporter,
    logger: Logger
  ) -> WebServer? {
    webConfiguration.map {
      WebServer(orchestrator: orchestrator, configuration: $0, exporter: exporter, logger: logger)
    }
  }

  /// The line that says where the dashboard is, once it listens.
  static func dashboardLine(_ web: WebServer?) async throws -> String? {
    guard let web else { return nil }
    let port = try await web.listeningPort()
    let scheme = web.configuration.tls == nil ? "http" : "https"
    let host = ["0.0.0.0", "::"].contains(web.configuration.host) ? "127.0.0.1" : web.configuration.host
    return "dashboard on \(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port) (orchion dashboard prints a login link)"
  }
}
