import GRPCNIOTransportHTTP2

/// The orchestrator's TLS: its certificate and key, and for mutual TLS the CA that client
/// (agent, CLI) certificates must chain to.
public struct ServerTLS: Sendable {
  /// PEM certificate chain, leaf first.
  public var certificatePath: String
  /// PEM private key of the leaf certificate.
  public var keyPath: String
  /// PEM CA certificates; when set, every client must present a certificate signed by one.
  public var clientCAPath: String?

  public init(certificatePath: String, keyPath: String, clientCAPath: String? = nil) {
    self.certificatePath = certificatePath
    self.keyPath = keyPath
    self.clientCAPath = clientCAPath
  }

  var transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
    let chain: [TLSConfig.CertificateSource] = [.file(path: certificatePath, format: .pem)]
    let key: TLSConfig.PrivateKeySource = .file(path: keyPath, format: .pem)
    guard let clientCAPath else { return .tls(certificateChain: chain, privateKey: key) }
    return .mTLS(certificateChain: chain, privateKey: key) {
      $0.trustRoots = .certificates([.file(path: clientCAPath, format: .pem)])
    }
  }
}
