/// Where an orchestrator listens: `host:port`, `[v6]:port`, or a host alone (port 50051).
public struct ServerAddress: Hashable, Sendable, CustomStringConvertible {
  /// The default orchestrator port.
  public static let defaultPort = 50051

  /// Host name or IP address (without brackets).
  public var host: String
  /// TCP port.
  public var port: Int

  /// Creates an address.
  public init(host: String, port: Int) {
    self.host = host
    self.port = port
  }

  /// Parses `host:port`, `[v6]:port` or `host`.
  /// - Throws: `invalidArgument` saying what is wrong.
  public init(parsing text: String) throws(OrchionError) {
    func invalid(_ why: String) -> OrchionError {
      .invalidArgument("invalid server address '\(text)': \(why) (expected HOST:PORT)")
    }
    var host = Substring(text)
    var portText: Substring?
    if host.hasPrefix("[") {
      guard let close = host.firstIndex(of: "]") else { throw invalid("missing ']'") }
      let after = host[host.index(after: close)...]
      host = host[host.index(after: host.startIndex)..<close]
      if !after.isEmpty {
        guard after.hasPrefix(":") else { throw invalid("expected ':' after ']'") }
        portText = after.dropFirst()
      }
    } else if let colon = host.lastIndex(of: ":") {
      guard host.firstIndex(of: ":") == colon else {
        throw invalid("IPv6 addresses need brackets")
      }
      portText = host[host.index(after: colon)...]
      host = host[..<colon]
    }
    guard !host.isEmpty else { throw invalid("empty host") }
    var port = Self.defaultPort
    if let portText {
      guard let value = Int(portText), (1...65_535).contains(value) else {
        throw invalid("port must be 1-65535")
      }
      port = value
    }
    self.host = String(host)
    self.port = port
  }

  public var description: String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
  }
}

extension ServerAddress {
  /// Parses a comma-separated list (`a:1,b:2`): the orchestrators of one cluster.
  /// - Throws: `invalidArgument` for an empty list or a bad address.
  public static func list(parsing text: String) throws(OrchionError) -> [ServerAddress] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: true)
      .map { String($0.filter { !$0.isWhitespace }) }
    guard !parts.isEmpty else { throw .invalidArgument("no server address in '\(text)'") }
    return try parts.map { part throws(OrchionError) in try ServerAddress(parsing: part) }
  }
}
