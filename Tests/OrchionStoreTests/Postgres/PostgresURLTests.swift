import OrchionCore
import OrchionStore
import Testing

@Suite("PostgreSQL store URL")
struct PostgresURLTests {
  @Test("the parts, with percent-escapes decoded; no parameters means sslmode=prefer")
  func parts() throws {
    let url = try PostgresURL(parsing: "postgres://me:p%40ss@db.example:6543/state")
    #expect(url.user == "me")
    #expect(url.password == "p@ss")
    #expect(url.host == "db.example")
    #expect(url.port == 6543)
    #expect(url.database == "state")
    #expect(url.sslMode == .prefer)
    #expect(url.sslRootCert == nil)
    #expect(url.redacted == "postgres://me:***@db.example:6543/state")
  }

  @Test(
    "every sslmode is understood",
    arguments: [
      ("disable", PostgresURL.SSLMode.disable), ("prefer", .prefer), ("require", .require),
      ("verify-ca", .verifyCA), ("verify-full", .verifyFull),
    ]
  )
  func modes(text: String, mode: PostgresURL.SSLMode) throws {
    let url = try PostgresURL(
      parsing: "postgresql://me@db:5432/state?sslmode=\(text)&sslrootcert=%2Fetc%2Fca.pem"
    )
    #expect(url.sslMode == mode)
    #expect(url.sslRootCert == "/etc/ca.pem")
    #expect(url.database == "state")
  }

  @Test(
    "unknown, repeated or incomplete TLS parameters are refused, naming them",
    arguments: [
      ("postgres://me@db/x?sslmode=always", "sslmode 'always' is not one of"),
      ("postgres://me@db/x?sslmode=allow", "sslmode 'allow' is not one of"),
      ("postgres://me@db/x?ssl=true", "unknown parameter 'ssl'"),
      (
        "postgres://me@db/x?sslmode=require&application_name=a",
        "unknown parameter 'application_name'"
      ),
      ("postgres://me@db/x?sslmode=require&sslmode=disable", "'sslmode' is given twice"),
      ("postgres://me@db/x?sslmode=verify-full", "sslmode=verify-full needs sslrootcert"),
      ("postgres://me@db/x?sslmode=verify-ca", "sslmode=verify-ca needs sslrootcert"),
      ("postgres://me@db/x?sslmode=verify-ca&sslrootcert=", "sslrootcert needs a file path"),
    ]
  )
  func refusals(text: String, message: String) {
    let error = #expect(throws: OrchionError.self) { try PostgresURL(parsing: text) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
  }

  @Test("the store location refuses an unknown parameter too (it was once dropped)")
  func locationRefuses() {
    let error = #expect(throws: OrchionError.self) {
      try StoreLocation(parsing: "postgres://me@db/x?sslmode=requir")
    }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.contains("sslmode 'requir'") == true)
  }
}
