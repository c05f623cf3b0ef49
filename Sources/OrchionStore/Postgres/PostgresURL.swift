public import OrchionCore

/// The parts of a `postgres://user:password@host:port/database?sslmode=…&sslrootcert=…` URL.
public struct PostgresURL: Sendable, Hashable {
  /// How the connection is encrypted and the server checked: libpq's `sslmode`.
  public enum SSLMode: String, Sendable, Hashable, CaseIterable {
    /// Plaintext only.
    case disable
    /// TLS when the server offers it, else plaintext; the certificate is not checked
    /// (libpq's default).
    case prefer
    /// TLS or no connection; the certificate is not checked — unless `sslrootcert` is given,
    /// which makes it `verify-ca`, as in libpq.
    case require
    /// TLS, with a certificate that chains to `sslrootcert`; the host name is not checked.
    case verifyCA = "verify-ca"
    /// TLS, with a certificate that chains to `sslrootcert` and names the host.
    case verifyFull = "verify-full"
  }

  public var user: String
  public var password: String?
  public var host: String
  public var port: Int
  public var database: String
  /// `sslmode`, by default `prefer` (as libpq).
  public var sslMode: SSLMode
  /// `sslrootcert`: a PEM file of the CA(s) to verify the server with, or `system` for the
  /// system's trust store.
  public var sslRootCert: String?

  /// The query parameters understood; anything else is refused rather than ignored, so a
  /// setting the operator relies on is never silently dropped.
  public static let parameters = ["sslmode", "sslrootcert"]

  /// Parses a URL; the port defaults to 5432 and the database to the user's name.
  /// Percent-escapes in the user, password and parameters are decoded.
  /// - Throws: `invalidArgument` naming what is wrong (an unknown parameter or `sslmode`).
  public init(parsing text: String) throws(OrchionError) {
    let scheme = text.hasPrefix("postgresql://") ? "postgresql://" : "postgres://"
    guard text.hasPrefix(scheme) else {
      throw .invalidArgument("store URL must start with postgres://")
    }
    var rest = Substring(text.dropFirst(scheme.count))
    var query: Substring = ""
    if let mark = rest.firstIndex(of: "?") {
      query = rest[rest.index(after: mark)...]
      rest = rest[..<mark]
    }
    let tls = try Self.tlsParameters(query)
    sslMode = tls.0
    sslRootCert = tls.1
    guard let at = rest.lastIndex(of: "@") else {
      throw .invalidArgument("store URL needs a user: postgres://user:password@host:port/database")
    }
    let credentials = rest[..<at]
    var location = rest[rest.index(after: at)...]
    if let colon = credentials.firstIndex(of: ":") {
      user = Self.decode(credentials[..<colon])
      password = Self.decode(credentials[credentials.index(after: colon)...])
    } else {
      user = Self.decode(credentials)
      password = nil
    }
    guard !user.isEmpty else { throw .invalidArgument("store URL: the user is empty") }
    var database = user
    if let slash = location.firstIndex(of: "/") {
      let name = location[location.index(after: slash)...]
      if !name.isEmpty { database = Self.decode(name) }
      location = location[..<slash]
    }
    self.database = database
    port = 5432
    if let colon = location.lastIndex(of: ":"), !location.hasSuffix("]") {
      guard let number = Int(location[location.index(after: colon)...]),
        (1...65_535).contains(number)
      else { throw .invalidArgument("store URL: the port must be 1-65535") }
      port = number
      location = location[..<colon]
    }
    host = String(location.filter { $0 != "[" && $0 != "]" })
    guard !host.isEmpty else { throw .invalidArgument("store URL: the host is empty") }
  }

  /// The URL with the password replaced, for logs and messages.
  public var redacted: String {
    "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
  }

  /// `sslmode` and `sslrootcert` from the query (after `?`).
  private static func tlsParameters(
    _ query: Substring
  ) throws(OrchionError) -> (SSLMode, String?) {
    var values: [String: String] = [:]
    for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let name = decode(parts[0])
      guard parameters.contains(name) else {
        let supported = parameters.joined(separator: ", ")
        throw .invalidArgument("store URL: unknown parameter '\(name)' (supported: \(supported))")
      }
      guard values[name] == nil else {
        throw .invalidArgument("store URL: parameter '\(name)' is given twice")
      }
      values[name] = parts.count > 1 ? decode(parts[1]) : ""
    }
    let modes = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
    var mode = SSLMode.prefer
    if let text = values["sslmode"] {
      guard let parsed = SSLMode(rawValue: text) else {
        throw .invalidArgument("store URL: sslmode '\(text)' is not one of \(modes)")
      }
      mode = parsed
    }
    let rootCert = values["sslrootcert"]
    if rootCert?.isEmpty == true {
      throw .invalidArgument("store URL: sslrootcert needs a file path (or 'system')")
    }
    if mode == .verifyCA || mode == .verifyFull, rootCert == nil {
      throw .invalidArgument(
        "store URL: sslmode=\(mode.rawValue) needs sslrootcert=PATH, the CA the server's certificate chains to (or sslrootcert=system)"
      )
    }
    return (mode, rootCert)
  }

  private static func decode(_ text: Substring) -> String {
    var bytes: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let byte = iterator.next() {
      if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
        let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
      {
        bytes.append(value)
      } else {
        bytes.append(byte)
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
