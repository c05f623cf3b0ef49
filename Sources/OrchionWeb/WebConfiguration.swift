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
  /// What `/install.sh` and `/download` hand out.
  public var install: InstallSettings
  /// Web origins that may call `/mcp` besides loopback ones.
  public var mcpOrigins: MCPOrigins

  /// What the orchestrator serves to machines joining it.
  public struct InstallSettings: Sendable {
    /// Where `make dist` builds for other architectures are (`orchion-linux-<arch>`).
    public var distDirectory: String?
    /// curl's `--pinnedpubkey` value (`sha256//BASE64`) of the HTTPS certificate's key.
    public var pinnedKey: String?
    /// The CA a joining agent trusts, served at `/install/ca.pem` (HTTPS only).
    public var caPath: String?

    public init(distDirectory: String? = nil, pinnedKey: String? = nil, caPath: String? = nil) {
      self.distDirectory = distDirectory
      self.pinnedKey = pinnedKey
      self.caPath = caPath
    }
  }

  public init(
    host: String,
    port: Int,
    tls: ServerTLS? = nil,
    metricsPublic: Bool = false,
    keepAliveInterval: Duration = .seconds(15),
    install: InstallSettings = InstallSettings(),
    mcpOrigins: MCPOrigins = MCPOrigins()
  ) {
    self.mcpOrigins = mcpOrigins
    self.install = install
    self.host = host
    self.port = port
    self.tls = tls
    self.metricsPublic = metricsPublic
    self.keepAliveInterval = keepAliveInterval
  }
}
