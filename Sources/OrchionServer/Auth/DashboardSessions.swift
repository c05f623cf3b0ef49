import Crypto
import Foundation
public import OrchionCore
import Synchronization

/// Dashboard logins without passwords, as Jupyter does: `orchion dashboard` asks for a one-time
/// login code (``makeCode(for:)``, valid two minutes), the browser trades it at `/login` for a
/// session cookie (``redeem(_:)``), and every request shows the cookie (``session(from:)``).
///
/// Codes and sessions are signed values, `<payload>.<mac>` (HMAC-SHA256 under a key derived
/// from the secrets key), not rows: a restarted orchestrator, or another one sharing the
/// secrets key, accepts them. Each names the API token it was made for; ``TokenRegistry``
/// decides on every request whether that token still counts, so revoking the token ends its
/// sessions at once. A code works once per orchestrator process (the used ones are remembered
/// until they would have expired anyway).
public final class DashboardSessions: Sendable {
  /// What a browser may do.
  public enum Access: String, Sendable {
    /// Everything the dashboard offers, cancelling tasks included.
    case admin
    /// Looking only.
    case read
  }

  /// A logged-in browser.
  public struct Session: Sendable, Equatable {
    /// The API token the session acts for (`configured` for `--token`, `open` without auth).
    public var tokenID: String
    public var access: Access
    public var expiresAt: UTCInstant
    /// What a form must echo back (the `csrf` field) for a POST to count.
    public var csrfToken: String

    public init(tokenID: String, access: Access, expiresAt: UTCInstant, csrfToken: String) {
      self.tokenID = tokenID
      self.access = access
      self.expiresAt = expiresAt
      self.csrfToken = csrfToken
    }
  }

  /// How long a login code is good for.
  public static let codeLifetime = Duration.seconds(120)
  /// How long a session lasts before the browser needs a new link.
  public static let sessionLifetime = Duration.seconds(12 * 3600)
  /// The session cookie's name.
  public static let cookieName = "orchion_session"
  /// The longest code or cookie value looked at; anything longer is refused unread.
  public static let maxValueBytes = 512

  private let key: SymmetricKey
  private let clock: any WallClock
  /// Whether the token a session names still counts, and as what; `nil` without
  /// authentication (every browser is an admin, as every caller is).
  private let tokenAccess: (@Sendable (String) -> Access?)?
  private let used = Mutex<[String: UTCInstant]>([:])
  private let baseURL = Mutex<String?>(nil)

  init(
    secretsKey: [UInt8],
    clock: any WallClock,
    tokenAccess: (@Sendable (String) -> Access?)?
  ) {
    key = HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: secretsKey),
      info: Data("orchion dashboard sessions v1".utf8),
      outputByteCount: 32
    )
    self.clock = clock
    self.tokenAccess = tokenAccess
  }

  /// Whether every browser is let in without a login: authentication is off (`--no-auth`).
  public var isOpen: Bool { tokenAccess == nil }

  /// The dashboard's own address, `http(s)://host:port`, once its server listens; login links
  /// start with it.
  public var dashboardURL: String? {
    get { baseURL.withLock { $0 } }
    set { baseURL.withLock { $0 = newValue } }
  }

  /// A one-time login code for the caller's token.
  /// - Throws: `permissionDenied` for callers that are not admins or readers.
  func makeCode(for principal: Principal) throws(OrchionError) -> (code: String, expiresAt: UTCInstant) {
    let (tokenID, access): (String, Access)
    switch principal {
    case .admin(let id): (tokenID, access) = (id, .admin)
    case .read(let id): (tokenID, access) = (id, .read)
    case .unauthenticated: (tokenID, access) = ("open", .admin)
    case .join, .task, .agent:
      throw .permissionDenied("only admin and read tokens may log a browser in")
    }
    let expiresAt = clock.now.advanced(by: Self.codeLifetime)
    let nonce = Credential.randomHex(bytes: 12)
    return (sign(.code, [access.rawValue, tokenID, "\(expiresAt.nanosecondsSinceEpoch)", nonce]), expiresAt)
  }

  /// Trades a login code for a session cookie value.
  /// - Returns: `nil` when the code is malformed, forged, expired, already used, or its token
  ///   no longer counts.
  public func redeem(_ code: String) -> (cookie: String, session: Session)? {
    guard let fields = verify(.code, code), fields.count == 4,
      let expiry = Int64(fields[2]), let access = Access(rawValue: fields[0])
    else { return nil }
    let now = clock.now
    let expiresAt = UTCInstant(nanosecondsSinceEpoch: expiry)
    guard now < expiresAt, let granted = currentAccess(tokenID: fields[1], claimed: access) else {
      return nil
    }
    let fresh = used.withLock { used -> Bool in
      used = used.filter { $0.value > now }
      guard used[fields[3]] == nil else { return false }
      used[fields[3]] = expiresAt
      return true
    }
    guard fresh else { return nil }
    let sessionExpiry = now.advanced(by: Self.sessionLifetime)
    let nonce = Credential.randomHex(bytes: 12)
    let cookie = sign(
      .session,
      [granted.rawValue, fields[1], "\(sessionExpiry.nanosecondsSinceEpoch)", nonce]
    )
    return (cookie, session(tokenID: fields[1], access: granted, expiresAt: sessionExpiry, nonce: nonce))
  }

  /// The session a cookie value stands for; `nil` when it is malformed, forged, expired or its
  /// token no longer counts.
  public func session(from cookie: String) -> Session? {
    guard let fields = verify(.session, cookie), fields.count == 4,
      let expiry = Int64(fields[2]), let access = Access(rawValue: fields[0])
    else { return nil }
    let expiresAt = UTCInstant(nanosecondsSinceEpoch: expiry)
    guard clock.now < expiresAt, let granted = currentAccess(tokenID: fields[1], claimed: access)
    else { return nil }
    return session(tokenID: fields[1], access: granted, expiresAt: expiresAt, nonce: fields[3])
  }

  /// The session of a browser when authentication is off: an admin, as every caller is.
  public func openSession() -> Session? {
    guard isOpen else { return nil }
    return session(
      tokenID: "open",
      access: .admin,
      expiresAt: clock.now.advanced(by: Self.sessionLifetime),
      nonce: "open"
    )
  }

  /// Whether `presented` is the CSRF token of `session`, compared in constant time.
  public func isValidCSRF(_ presented: String, for session: Session) -> Bool {
    Credential.equal(Array(presented.utf8), Array(session.csrfToken.utf8))
  }

  // MARK: Signing

  private enum Purpose: String {
    case code, session
  }

  private func session(tokenID: String, access: Access, expiresAt: UTCInstant, nonce: String)
    -> Session
  {
    Session(
      tokenID: tokenID,
      access: access,
      expiresAt: expiresAt,
      csrfToken: mac("csrf\u{0}\(nonce)")
    )
  }

  /// The lesser of what the value claims and what its token now grants (an admin token
  /// re-created as a read token does not keep admin sessions).
  private func currentAccess(tokenID: String, claimed: Access) -> Access? {
    guard let tokenAccess else { return tokenID == "open" ? claimed : nil }
    guard let now = tokenAccess(tokenID) else { return nil }
    return now == .admin ? claimed : .read
  }

  private func sign(_ purpose: Purpose, _ fields: [String]) -> String {
    let payload = Data(fields.joined(separator: "|").utf8).base64URLEncoded
    return payload + "." + mac("\(purpose.rawValue)\u{0}\(payload)")
  }

  private func verify(_ purpose: Purpose, _ value: String) -> [String]? {
    guard value.utf8.count <= Self.maxValueBytes,
      let dot = value.firstIndex(of: ".")
    else { return nil }
    let payload = String(value[..<dot])
    let presented = String(value[value.index(after: dot)...])
    guard Credential.equal(Array(mac("\(purpose.rawValue)\u{0}\(payload)").utf8), Array(presented.utf8)),
      let data = Data(base64URLEncoded: payload), let text = String(data: data, encoding: .utf8)
    else { return nil }
    return text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
  }

  private func mac(_ message: String) -> String {
    Data(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)).base64URLEncoded
  }
}

extension Data {
  /// Base64 with the URL and cookie-safe alphabet, unpadded (RFC 4648 §5).
  var base64URLEncoded: String {
    base64EncodedString()
      .replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  init?(base64URLEncoded text: String) {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 { base64.append("=") }
    self.init(base64Encoded: base64)
  }
}
