import Foundation
public import Logging
import OrchionClient
public import OrchionCore

/// The client config file, `~/.orchion/config`: `key = value` lines that `orchion server` and
/// `orchion up` write so the local CLI finds them without flags.
public struct ClientConfigFile: Equatable, Sendable {
  /// The orchestrator address, HOST:PORT.
  public var server: String?
  /// The token the CLI presents.
  public var token: String?
  /// TLS: the CA the orchestrator's certificate chains to, and this client's certificate and
  /// key for mutual TLS.
  public var tlsCA: String?
  public var tlsCert: String?
  public var tlsKey: String?

  /// An empty config.
  public init() {}

  /// The file's path: `$ORCHION_CONFIG`, else `~/.orchion/config`.
  public static var path: String {
    if let path = ProcessInfo.processInfo.environment["ORCHION_CONFIG"] { return path }
    return (DataDirectory.defaultPath as NSString).appendingPathComponent("config")
  }

  /// Reads the file; `nil` when it does not exist or cannot be read.
  public static func load(from path: String = ClientConfigFile.path) -> ClientConfigFile? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return parse(text)
  }

  /// Parses `key = value` lines; `#` starts a comment; unknown keys are ignored.
  public static func parse(_ text: String) -> ClientConfigFile {
    var config = ClientConfigFile()
    for line in text.split(whereSeparator: \.isNewline) {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
      let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
      let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      if key == "server" { config.server = value }
      if key == "token" { config.token = value }
      if key == "tls_ca" { config.tlsCA = value }
      if key == "tls_cert" { config.tlsCert = value }
      if key == "tls_key" { config.tlsKey = value }
    }
    return config
  }

  /// Writes the file with mode 0600, replacing it atomically.
  public func save(to path: String = ClientConfigFile.path) throws {
    var text = "# Written by orchion; read by the orchion CLI.\n"
    if let server { text += "server = \(server)\n" }
    if let token { text += "token = \(token)\n" }
    if let tlsCA { text += "tls_ca = \(tlsCA)\n" }
    if let tlsCert { text += "tls_cert = \(tlsCert)\n" }
    if let tlsKey { text += "tls_key = \(tlsKey)\n" }
    try PrivateFile.write(Data(text.utf8), to: path)
  }

  /// Records `server` (and `token`, when given) in the client config so the local CLI finds
  /// them; a failure is logged, not fatal (the server runs fine without it).
  public static func record(server: ServerAddress, token: String? = nil, logger: Logger) {
    var config = load() ?? ClientConfigFile()
    config.server = "\(server)"
    if let token { config.token = token }
    do {
      try config.save()
    } catch {
      logger.warning("cannot write the client config", metadata: ["orchion.error": "\(error)"])
    }
  }
}
