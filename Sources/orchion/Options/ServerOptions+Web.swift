import Crypto
import Foundation
import Logging
import OrchionCommandLine
import OrchionServer
import OrchionWeb
import SwiftASN1
import X509

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
    return WebConfiguration(
      host: host,
      port: chosen,
      tls: tls,
      metricsPublic: metricsPublic,
      install: .init(
        distDirectory: distDir ?? Self.defaultDistDirectory,
        pinnedKey: tlsCert.flatMap(Self.pinnedKey(certificatePath:)),
        caPath: tls == nil ? nil : caToHandOut
      ),
      mcpOrigins: MCPOrigins(allowed: mcpAllowedOrigins)
    )
  }

  /// `dist/` beside the directory of the running executable (`bin/orchion` → `dist/`), when it
  /// exists.
  static var defaultDistDirectory: String? {
    guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    else { return nil }
    let root = ((executable as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
    let dist = (root as NSString).appendingPathComponent("dist")
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: dist, isDirectory: &isDirectory) && isDirectory.boolValue
      ? dist : nil
  }

  /// The CA joining agents are given: the client CA (one CA usually signs both sides, as
  /// `orchion certs init` does), else `ca.pem` beside the certificate.
  var caToHandOut: String? {
    if let tlsClientCA { return tlsClientCA }
    guard let tlsCert else { return nil }
    let beside = ((tlsCert as NSString).deletingLastPathComponent as NSString).appendingPathComponent("ca.pem")
    return FileManager.default.isReadableFile(atPath: beside) ? beside : nil
  }

  /// curl's `--pinnedpubkey` value for the certificate's key: `sha256//` and the base64 of the
  /// SHA-256 of its SubjectPublicKeyInfo.
  static func pinnedKey(certificatePath: String) -> String? {
    guard let pem = try? String(contentsOfFile: certificatePath, encoding: .utf8),
      let end = pem.range(of: "-----END CERTIFICATE-----"),
      let certificate = try? Certificate(pemEncoded: String(pem[..<end.upperBound]))
    else { return nil }
    var serializer = DER.Serializer()
    guard (try? serializer.serialize(certificate.publicKey)) != nil else { return nil }
    return "sha256//" + Data(SHA256.hash(data: serializer.serializedBytes)).base64EncodedString()
  }

  /// The one line that joins a machine: fetch the install script from this orchestrator and
  /// run it with a join token (passed to the script, never in a URL).
  static func joinLine(web: WebServer?, grpcAddress: String, token: String) async -> String? {
    guard let web, let port = try? await web.listeningPort() else { return nil }
    let host = grpcAddress.split(separator: ":").dropLast().joined(separator: ":")
    guard web.configuration.tls != nil else {
      return "curl -fsSL http://\(host):\(port)/install.sh | sh -s -- --server \(grpcAddress) --token \(token)"
    }
    let pin = web.configuration.install.pinnedKey ?? "sha256//<the server key's pin>"
    let fingerprint =
      web.configuration.install.caPath.flatMap { try? Downloads.sha256(of: $0) }.map { " --tls-ca-sha256 \($0)" }
      ?? " --tls-ca <CA file>"
    return "curl -fsSLk --pinnedpubkey '\(pin)' https://\(host):\(port)/install.sh | sh -s -- --server \(grpcAddress) --token \(token)\(fingerprint)"
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
