public import OrchionCore

/// The parts of a `postgres://user:password@host:port/database` URL.
public struct PostgresURL: Sendable, Hashable {
  public var user: String
  public var password: String?
  public var host: String
  public var port: Int
  public var database: String

  /// Parses a URL; the port defaults to 5432 and the database to the user's name.
  /// Percent-escapes in the user and password are decoded.
  /// - Throws: `invalidArgument` naming what is wrong.
  public init(parsing text: String) throws(OrchionError) {
    let scheme = text.hasPrefix("postgresql://") ? "postgresql://" : "postgres://"
    guard text.hasPrefix(scheme) else {
      throw .invalidArgument("store URL must start with postgres://")
    }
    var rest = Substring(text.dropFirst(scheme.count))
    if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
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
