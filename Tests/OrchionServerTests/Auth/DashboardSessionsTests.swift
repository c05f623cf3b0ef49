import Foundation
import OrchionCore
import OrchionTestSupport
import Synchronization
import Testing

@testable import OrchionServer

/// Login codes and sessions on a manual clock: what a stolen, replayed, stale or forged value
/// gets (nothing), and what revoking or downgrading its token does to a session.
@Suite("Dashboard sessions")
struct DashboardSessionsTests {
  /// Sessions whose tokens grant what `grants` says now.
  final class Grants: Sendable {
    let access = Mutex<[String: DashboardSessions.Access]>([:])
    func set(_ id: String, _ value: DashboardSessions.Access?) { access.withLock { $0[id] = value } }
  }

  private func sessions(clock: ManualClock, grants: Grants, key: [UInt8] = Array(repeating: 7, count: 32))
    -> DashboardSessions
  {
    DashboardSessions(secretsKey: key, clock: clock) { id in grants.access.withLock { $0[id] } }
  }

  @Test("a code logs in once, within two minutes")
  func codeOnceWithinTwoMinutes() throws {
    let clock = ManualClock()
    let grants = Grants()
    grants.set("tok1", .admin)
    let sessions = sessions(clock: clock, grants: grants)
    let (code, expiresAt) = try sessions.makeCode(for: .admin(tokenID: "tok1"))
    #expect(expiresAt == clock.now.advanced(by: .seconds(120)))
    let redeemed = try #require(sessions.redeem(code))
    #expect(redeemed.session.access == .admin)
    #expect(redeemed.session.tokenID == "tok1")
    #expect(sessions.redeem(code) == nil, "used once")
    #expect(sessions.session(from: redeemed.cookie) == redeemed.session)

    let (late, _) = try sessions.makeCode(for: .admin(tokenID: "tok1"))
    clock.advance(by: .seconds(120))
    #expect(sessions.redeem(late) == nil, "expired at two minutes")
  }

  @Test("a session ends when its token is revoked, expires after twelve hours, and follows a downgrade")
  func sessionFollowsItsToken() throws {
    let clock = ManualClock()
    let grants = Grants()
    grants.set("tok1", .admin)
    let sessions = sessions(clock: clock, grants: grants)
    let cookie = try #require(sessions.redeem(try sessions.makeCode(for: .admin(tokenID: "tok1")).code)).cookie
    grants.set("tok1", .read)
    #expect(sessions.session(from: cookie)?.access == .read, "never more than the token grants now")
    grants.set("tok1", nil)
    #expect(sessions.session(from: cookie) == nil, "revoked")
    grants.set("tok1", .admin)
    clock.advance(by: DashboardSessions.sessionLifetime)
    #expect(sessions.session(from: cookie) == nil, "expired")
  }

  @Test("forged, swapped, truncated or foreign values are nothing")
  func forgeries() throws {
    let clock = ManualClock()
    let grants = Grants()
    grants.set("tok1", .read)
    let sessions = sessions(clock: clock, grants: grants)
    let other = self.sessions(clock: clock, grants: grants, key: Array(repeating: 9, count: 32))
    let code = try sessions.makeCode(for: .read(tokenID: "tok1")).code
    // A code is not a session, nor the other way round.
    #expect(sessions.session(from: code) == nil)
    let cookie = try #require(sessions.redeem(code)).cookie
    #expect(sessions.redeem(cookie) == nil)
    // Another key (another cluster) signed it: refused.
    #expect(other.session(from: cookie) == nil)
    // A payload rewritten to claim admin keeps the old signature: refused.
    let parts = cookie.split(separator: ".")
    let forged = Data("admin|tok1|9223372036854775807|x".utf8).base64URLEncoded
    #expect(sessions.session(from: forged + "." + parts[1]) == nil)
    #expect(sessions.session(from: parts[0] + "." + parts[1]) != nil, "the untouched cookie works")
    #expect(sessions.session(from: String(cookie.dropLast(2))) == nil)
    #expect(sessions.session(from: "") == nil)
    #expect(sessions.session(from: String(repeating: "a", count: 10_000)) == nil)
    // Join and task tokens cannot log a browser in.
    expectOrchionError(.permissionDenied) { try sessions.makeCode(for: .join(tokenID: "j")) }
    _ = expectOrchionError(.permissionDenied) {
      try sessions.makeCode(for: .task(try TaskID(validating: "t0123456789abcdef0123"), try AttemptID(validating: "a0123456789abcdef")))
    }
  }

  @Test("the CSRF token is the session's own")
  func csrf() throws {
    let clock = ManualClock()
    let grants = Grants()
    grants.set("tok1", .admin)
    let sessions = sessions(clock: clock, grants: grants)
    let one = try #require(sessions.redeem(try sessions.makeCode(for: .admin(tokenID: "tok1")).code)).session
    let two = try #require(sessions.redeem(try sessions.makeCode(for: .admin(tokenID: "tok1")).code)).session
    #expect(sessions.isValidCSRF(one.csrfToken, for: one))
    #expect(!sessions.isValidCSRF(two.csrfToken, for: one))
    #expect(!sessions.isValidCSRF("", for: one))
  }
}
