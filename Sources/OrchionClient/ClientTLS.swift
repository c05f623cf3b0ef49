import GRPCNIOTransportHTTP2

/// How a client (CLI, agent, program) secures its connection to a TLS orchestrator.
public struct ClientTLS: Sendable, Equatable {
  /// PEM CA certificates the orchestrator's certificate must chain to; `nil` for the system's.
  public var caPath: String?
  /// For mutual TLS: this client's PEM certificate chain.
  public var certificatePath: String?
  /// For mutual TLS: the PEM private key of ``certificatePath``.
  public var keyPath: String?

  public init(caPath: String? = nil, certificatePath: String? = nil, keyPath: String? = nil) {
    self.caPath = caPath
    self.certificatePath = certificatePath
    self.keyPath = keyPath
  }

  var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
    let configure: (inout HTTP2ClientTransport.Posix.TransportSecurity.TLS) -> Void = { config in
      if let caPath {
        config.trustRoots = .certificates([.file(path: caPath, format: .pem)])
      }
    }
    guard let certificatePath, let keyPath else { return .tls(configure: configure) }
    return .mTLS(
      certificateChain: [.file(path: certificatePath, format: .pem)],
      privateKey: .file(path: keyPath, format: .pem),
      configure: configure
    )
  }
}
