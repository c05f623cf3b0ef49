import NIOSSL
import OrchionCore
import PostgresNIO

extension PostgresURL {
  /// What `sslmode` and `sslrootcert` ask of the connection: whether TLS is off, tried or
  /// required, and the TLS configuration (how the certificate is checked).
  struct TLSSettings: Sendable {
    enum Use: Sendable { case never, ifOffered, always }

    var use: Use
    var configuration: TLSConfiguration

    /// For the pool.
    var client: PostgresClient.Configuration.TLS {
      switch use {
      case .never: .disable
      case .ifOffered: .prefer(configuration)
      case .always: .require(configuration)
      }
    }

    /// For one connection (the probe at start).
    func connection() throws -> PostgresConnection.Configuration.TLS {
      switch use {
      case .never: .disable
      case .ifOffered: .prefer(try NIOSSLContext(configuration: configuration))
      case .always: .require(try NIOSSLContext(configuration: configuration))
      }
    }
  }

  /// The TLS settings libpq would use for this URL's `sslmode` and `sslrootcert`:
  /// `disable` plaintext; `prefer` TLS if offered, unverified; `require` TLS, unverified (but
  /// with `sslrootcert`, verified as `verify-ca`); `verify-ca` the chain; `verify-full` the
  /// chain and the host name (or IP address).
  /// - Throws: `invalidArgument` when `sslrootcert` cannot be read as PEM certificates.
  func tlsSettings() throws(OrchionError) -> TLSSettings {
    var configuration = TLSConfiguration.makeClientConfiguration()
    var mode = sslMode
    if mode == .require, sslRootCert != nil { mode = .verifyCA }
    switch mode {
    case .disable, .prefer, .require: configuration.certificateVerification = .none
    case .verifyCA: configuration.certificateVerification = .noHostnameVerification
    case .verifyFull: configuration.certificateVerification = .fullVerification
    }
    if let sslRootCert, mode == .verifyCA || mode == .verifyFull, sslRootCert != "system" {
      do {
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(sslRootCert))
      } catch {
        throw .invalidArgument("store URL: sslrootcert \(sslRootCert): cannot read it: \(error)")
      }
    }
    let use: TLSSettings.Use =
      switch mode {
      case .disable: .never
      case .prefer: .ifOffered
      case .require, .verifyCA, .verifyFull: .always
      }
    return TLSSettings(use: use, configuration: configuration)
  }
}
