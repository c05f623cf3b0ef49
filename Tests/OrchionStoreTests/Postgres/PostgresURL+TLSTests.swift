import Foundation
import OrchionCore
import OrchionTestSupport
import PostgresNIO
import Testing

@testable import OrchionStore

/// Against the test PostgreSQL, which serves TLS and plaintext (scripts/test-postgres.sh).
@Suite("PostgreSQL store: sslmode against a real server")
struct PostgresTLSTests {
  private static let ca = TestPostgres.tlsDirectory + "/ca.pem"
  private static let otherCA = TestPostgres.tlsDirectory + "/other-ca.pem"

  /// Whether the store's connection is encrypted, as the server sees it (one row).
  private func encrypted(_ store: PostgresStore) async throws -> [Bool] {
    let rows = try await store.connections.query(
      "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
      logger: store.logger
    )
    var values: [Bool] = []
    for try await value in rows.decode(Bool.self) { values.append(value) }
    return values
  }

  /// `url` (a test database on 127.0.0.1) with its host replaced and `query` appended.
  private func with(_ url: String, host: String = "127.0.0.1", _ query: String) -> String {
    url.replacingOccurrences(of: "@127.0.0.1:", with: "@\(host):") + "?" + query
  }

  @Test(
    "disable connects in plaintext; prefer, require, verify-ca and verify-full (right CA) encrypt",
    arguments: [
      ("sslmode=disable", false), ("", true), ("sslmode=prefer", true),
      ("sslmode=require", true), ("sslmode=verify-ca&sslrootcert=\(ca)", true),
      ("sslmode=verify-full&sslrootcert=\(ca)", true),
      ("sslmode=require&sslrootcert=\(ca)", true),
    ]
  )
  func modes(query: String, expected: Bool) async throws {
    try await TestPostgres.withDatabase(plaintext: false) { url in
      let store = try await PostgresStore.connect(try PostgresURL(parsing: with(url, query)))
      let isEncrypted = try await encrypted(store)
      await store.close()
      #expect(isEncrypted == [expected], "\(query)")
    }
  }

  @Test("verify-full checks the host name: localhost is in the certificate")
  func hostName() async throws {
    try await TestPostgres.withDatabase(plaintext: false) { url in
      let store = try await PostgresStore.connect(
        try PostgresURL(
          parsing: with(url, host: "localhost", "sslmode=verify-full&sslrootcert=\(Self.ca)")
        )
      )
      let isEncrypted = try await encrypted(store)
      await store.close()
      #expect(isEncrypted == [true])
    }
  }

  @Test(
    "a certificate from another CA is refused at once, with the reason",
    arguments: ["verify-ca", "verify-full"]
  )
  func wrongCA(mode: String) async throws {
    try await TestPostgres.withDatabase(plaintext: false) { url in
      let location = try PostgresURL(
        parsing: with(url, "sslmode=\(mode)&sslrootcert=\(Self.otherCA)")
      )
      let error = await #expect(throws: OrchionError.self) {
        _ = try await PostgresStore.connect(location)
      }
      #expect(error?.code == .storeUnavailable)
      let message = error?.message ?? ""
      #expect(message.contains("CERTIFICATE_VERIFY_FAILED"), "\(message)")
    }
  }

  @Test("an unreadable sslrootcert is refused, naming it")
  func missingRootCert() async throws {
    let location = try PostgresURL(
      parsing:
        "postgres://orchion@127.0.0.1:55432/orchion?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
    )
    let error = await #expect(throws: OrchionError.self) {
      _ = try await PostgresStore.connect(location)
    }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.contains("sslrootcert /nonexistent/ca.pem") == true)
  }
}
