/// How many TCP connections the orchestrator holds and how long one may stay silent: an
/// unauthenticated peer that opens sockets and says nothing must not use up the process's
/// descriptors or the memory behind them.
public struct ConnectionLimits: Sendable, Equatable {
  /// Most connections open at once, from everyone.
  public var maxConnections: Int
  /// Most connections open at once from one IP address. Generous, because a lab of machines
  /// behind one NAT shares an address: each agent holds one connection.
  public var maxConnectionsPerAddress: Int
  /// A connection that has not sent the HTTP/2 client preface (after TLS, where there is
  /// TLS) within this long is closed.
  public var handshakeTimeout: Duration

  /// 16,384 in all, 4,096 per address, 10 s to say hello.
  public static let defaults = ConnectionLimits(
    maxConnections: 16_384,
    maxConnectionsPerAddress: 4_096,
    handshakeTimeout: .seconds(10)
  )

  /// Creates limits.
  public init(maxConnections: Int, maxConnectionsPerAddress: Int, handshakeTimeout: Duration) {
    self.maxConnections = maxConnections
    self.maxConnectionsPerAddress = maxConnectionsPerAddress
    self.handshakeTimeout = handshakeTimeout
  }
}
