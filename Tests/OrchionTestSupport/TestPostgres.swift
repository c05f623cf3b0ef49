import Foundation
import Logging
import OrchionStore
import PostgresNIO

/// The PostgreSQL server the tests use: `ORCHION_TEST_POSTGRES`, else the one
/// `scripts/test-postgres.sh` starts (which `make test` runs first). Each test gets a database
/// of its own, dropped afterwards.
public enum TestPostgres {
  /// The server's URL (its `orchion` database).
  public static var serverURL: String {
    ProcessInfo.processInfo.environment["ORCHION_TEST_POSTGRES"]
      ?? "postgres://orchion@127.0.0.1:55432/orchion"
  }

  /// Where `scripts/test-postgres.sh` keeps the server's TLS material: `ca.pem` (the CA of its
  /// certificate, for 127.0.0.1 and localhost) and `other-ca.pem` (a CA that signed nothing).
  public static var tlsDirectory: String {
    ProcessInfo.processInfo.environment["ORCHION_TEST_POSTGRES_TLS_DIR"]
      ?? "/tmp/orchion-test-postgres-tls"
  }

  /// Creates an empty database, runs `body` with its URL, and drops it.
  /// - Parameters:
  ///   - plaintext: Adds `?sslmode=disable` to the URL. The default: the server also speaks TLS,
  ///     and dozens of debug-build TLS handshakes at once, as a full parallel run starts them,
  ///     made connections miss their 10 s deadline. Only the TLS suite asks for `false` and
  ///     appends its own `sslmode`.
  ///   - body: The test, given the database's URL.
  public static func withDatabase<Result: Sendable>(
    plaintext: Bool = true,
    _ body: (String) async throws -> Result
  ) async throws -> Result {
    let name =
      "orchion_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
    try await execute("CREATE DATABASE \(name)")
    let base = serverURL
    let url: String
    if let slash = base.range(of: "/", options: .backwards), base[..<slash.lowerBound].contains("@")
    {
      url = base[..<slash.upperBound] + name + (plaintext ? "?sslmode=disable" : "")
    } else {
      url = base + "/" + name + (plaintext ? "?sslmode=disable" : "")
    }
    do {
      let result = try await body(url)
      try? await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
      return result
    } catch {
      try? await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
      throw error
    }
  }

  /// Runs one statement on the server's own database.
  public static func execute(_ sql: String) async throws {
    let url = try PostgresURL(parsing: serverURL)
    let connection = try await PostgresConnection.connect(
      configuration: .init(
        host: url.host,
        port: url.port,
        username: url.user,
        password: url.password,
        database: url.database,
        tls: .disable
      ),
      id: 1,
      logger: Logger(label: "orchion.test.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    do {
      try await connection.query(
        PostgresQuery(unsafeSQL: sql),
        logger: Logger(label: "orchion.test.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
      )
    } catch {
      try? await connection.close()
      throw error
    }
    try await connection.close()
  }
}
