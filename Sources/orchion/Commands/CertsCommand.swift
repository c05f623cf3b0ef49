import ArgumentParser
import Crypto
import Foundation
import OrchionClient
import OrchionCommandLine
import SwiftASN1
import X509

/// `orchion certs`: certificates for TLS and mutual TLS.
struct CertsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "certs",
    abstract: "Create certificates for TLS and mutual TLS.",
    subcommands: [CertsInitCommand.self]
  )
}

/// `orchion certs init`: a small CA, a server certificate and a client certificate.
struct CertsInitCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init",
    abstract: "Create a CA, a server certificate and a client certificate (ECDSA P-256, PEM).",
    discussion: """
      Writes ca.pem and ca-key.pem (keep the key offline: it can issue certificates), \
      server.pem/server-key.pem (for orchion server --tls-cert/--tls-key) and \
      client.pem/client-key.pem (for agents and the CLI: --tls-cert/--tls-key; also good for \
      more machines). Keys are written 0600. Then:
        orchion server --host 0.0.0.0 --tls-cert DIR/server.pem --tls-key DIR/server-key.pem \
      --tls-client-ca DIR/ca.pem
        orchion agent --server HOST:50051 --token T --tls-ca DIR/ca.pem \
      --tls-cert DIR/client.pem --tls-key DIR/client-key.pem
      """
  )

  @Option(help: "Directory to write the files to (created if needed).")
  var dir = (DataDirectory.defaultPath as NSString).appendingPathComponent("certs")

  @Option(
    name: .customLong("host"),
    help:
      "A DNS name or IP address clients reach the orchestrator at (repeatable; localhost, 127.0.0.1, ::1 and this machine's name are always included)."
  )
  var hosts: [String] = []

  @Option(help: "How long the certificates are valid, in days.")
  var days = 825

  @Flag(help: "Replace certificates that exist.")
  var force = false

  func validate() throws {
    guard days > 0 else { throw ValidationError("--days must be positive") }
    for host in hosts where host.isEmpty || host.contains(" ") {
      throw ValidationError("--host: '\(host)' is not a DNS name or IP address")
    }
  }

  func run() async throws {
    let files = [
      "ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem",
    ]
    let existing = files.filter {
      FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent($0))
    }
    if !existing.isEmpty, !force {
      throw ValidationError(
        "\(dir) already holds \(existing.joined(separator: ", ")); pass --force to replace them"
      )
    }
    let issued = try CertificateAuthority.issue(
      hosts: ["localhost", "127.0.0.1", "::1", ProcessInfo.processInfo.hostName] + hosts,
      validity: TimeInterval(days) * 86_400
    )
    _ = try DataDirectory.prepare(dir)
    for (name, contents, secret) in issued.files {
      let path = (dir as NSString).appendingPathComponent(name)
      // Certificates are public; keys only for their owner.
      try PrivateFile.write(Data(contents.utf8), to: path, mode: secret ? 0o600 : 0o644)
    }
    Console.line("wrote \(files.joined(separator: ", ")) to \(dir)")
  }
}

/// Issues the certificates `orchion certs init` writes.
enum CertificateAuthority {
  struct Issued {
    /// File name, PEM text, whether it is a private key.
    var files: [(String, String, Bool)]
  }

  static func issue(hosts: [String], validity: TimeInterval) throws -> Issued {
    let now = Date()
    let notBefore = now.addingTimeInterval(-300)  // tolerate clocks a little behind
    let caKey = P256.Signing.PrivateKey()
    let caName = try DistinguishedName {
      OrganizationName("Orchion")
      CommonName("Orchion CA")
    }
    let ca = try Certificate(
      version: .v3,
      serialNumber: Certificate.SerialNumber(),
      publicKey: .init(caKey.publicKey),
      notValidBefore: notBefore,
      notValidAfter: now.addingTimeInterval(validity * 2),
      issuer: caName,
      subject: caName,
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
      },
      issuerPrivateKey: .init(caKey)
    )
    func leaf(_ commonName: String, names: [GeneralName]) throws -> (
      Certificate, P256.Signing.PrivateKey
    ) {
      let key = P256.Signing.PrivateKey()
      let certificate = try Certificate(
        version: .v3,
        serialNumber: Certificate.SerialNumber(),
        publicKey: .init(key.publicKey),
        notValidBefore: notBefore,
        notValidAfter: now.addingTimeInterval(validity),
        issuer: caName,
        subject: try DistinguishedName {
          OrganizationName("Orchion")
          CommonName(commonName)
        },
        signatureAlgorithm: .ecdsaWithSHA256,
        extensions: try Certificate.Extensions {
          Critical(BasicConstraints.notCertificateAuthority)
          Critical(KeyUsage(digitalSignature: true))
          // Both: `orchion up` lets its local agent present the server's certificate.
          try ExtendedKeyUsage([.serverAuth, .clientAuth])
          if !names.isEmpty { SubjectAlternativeNames(names) }
        },
        issuerPrivateKey: .init(caKey)
      )
      return (certificate, key)
    }
    var seen = Set<String>()
    let names = hosts.filter { seen.insert($0).inserted }.map { host -> GeneralName in
      if let bytes = ipAddressBytes(host) {
        return .ipAddress(ASN1OctetString(contentBytes: bytes[...]))
      }
      return .dnsName(host)
    }
    let (server, serverKey) = try leaf("orchion server", names: names)
    let (client, clientKey) = try leaf("orchion client", names: [])
    return Issued(files: [
      ("ca.pem", try pem(ca), false), ("ca-key.pem", caKey.pemRepresentation, true),
      ("server.pem", try pem(server), false), ("server-key.pem", serverKey.pemRepresentation, true),
      ("client.pem", try pem(client), false), ("client-key.pem", clientKey.pemRepresentation, true),
    ])
  }

  private static func pem(_ certificate: Certificate) throws -> String {
    try certificate.serializeAsPEM().pemString + "\n"
  }

  /// The address's bytes when `host` is an IPv4 or IPv6 literal.
  static func ipAddressBytes(_ host: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, host, &v4) == 1 {
      return withUnsafeBytes(of: &v4) { Array($0) }
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, host, &v6) == 1 {
      return withUnsafeBytes(of: &v6) { Array($0) }
    }
    return nil
  }
}
