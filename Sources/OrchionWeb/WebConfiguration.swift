public import OrchionServer

/// How the orchestrator's HTTP side listens and who may read `/metrics`.
public struct WebConfiguration: Sendable {
  /// Address to listen on (`--host`, as gRPC).
  public var host: String
  /// Port to listen on; 0 picks a free one.
  public var port: Int
  /// The same certificate and key as gRPC; `nil` for plain HTTP. With a client CA, browsers
  /// and scrapers must present a certificate too, as gRPC clients must.
  public var tls: ServerTLS?
  /// `/metrics` without a token (`--metrics-public`), for scrapers on a trusted network.
  public var metricsPublic: Bool
  /// How often a quiet live-output stream sends a comment, so a browser that left is noticed.
  public var keepAliveInterval: Duration

  public init(
    host: String,
    port: Int,
    tls: ServerTLS? = nil,
    metricsPublic: Bool = false,
    keepAliveInterval: Duration = .seconds(15)
  ) {
    self.host = host
    self.port = port
    self.tls = tls
    self.metricsPublic = metricsPublic
    self.keepAliveInterval = keepAliveInterval
  }
}
