import Foundation
import Hummingbird
import HTTPTypes
import OrchionCore
import OrchionServer

/// Who a request comes from, and whether it may do what it asks: the session cookie (browsers)
/// or a bearer token (scripts), and for a POST the checks that keep other sites from making a
/// logged-in browser act (SameSite=Strict cookie, Origin, Sec-Fetch-Site, a CSRF token).
struct WebAccess: Sendable {
  let orchestrator: Orchestrator

  var sessions: DashboardSessions { orchestrator.sessions }

  /// What looking for a request's session found.
  enum Lookup: Sendable {
    case found(DashboardSessions.Session)
    case none
    /// The caller's address failed to authenticate too often: the message says so.
    case limited(String)
  }

  /// The session of `request`: its cookie's, else its bearer token's (no CSRF token: scripts
  /// cannot POST forms with one), else the open session when authentication is off. A bearer
  /// token that fails counts against `address`, as on the gRPC port.
  func session(of request: Request, from address: String) async -> Lookup {
    if let open = sessions.openSession() { return .found(open) }
    if let cookie = request.cookies[DashboardSessions.cookieName]?.value,
      let session = sessions.session(from: cookie)
    {
      return .found(session)
    }
    guard let authorization = request.headers[.authorization] else { return .none }
    switch await orchestrator.httpAccess(authorization: authorization, from: address) {
    case .granted(let access):
      return .found(
        DashboardSessions.Session(
          tokenID: "bearer",
          access: access,
          expiresAt: UTCInstant(nanosecondsSinceEpoch: .max),
          csrfToken: ""
        )
      )
    case .refused: return .none
    case .limited(let message): return .limited(message)
    }
  }

  /// Why a state-changing request must be refused, or `nil` to let it through.
  /// - Parameter csrf: The form's `csrf` field.
  func refusal(
    of request: Request,
    session: DashboardSessions.Session,
    csrf: String?
  ) -> Response? {
    guard session.access == .admin else {
      return Pages.error(.forbidden, "This session may only look: log in with an admin token to cancel tasks.")
    }
    if let site = request.headers.value(named: "sec-fetch-site"), site != "same-origin", site != "none" {
      return Pages.error(.forbidden, "Refused: the request came from another site (Sec-Fetch-Site: \(site)).")
    }
    if let origin = request.headers[.origin], !Self.isSameOrigin(origin, host: request.head.authority) {
      return Pages.error(.forbidden, "Refused: the request came from another origin (\(origin)).")
    }
    // A bearer token is not sent by browsers on their own: no CSRF token needed with it.
    if session.tokenID == "bearer" { return nil }
    guard let csrf, sessions.isValidCSRF(csrf, for: session) else {
      return Pages.error(.forbidden, "Refused: the form's CSRF token is missing or wrong. Reload the page and try again.")
    }
    return nil
  }

  /// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to.
  static func isSameOrigin(_ origin: String, host: String?) -> Bool {
    guard let host, let components = URLComponents(string: origin), let originHost = components.host
    else { return false }
    let originAuthority = components.port.map { "\(originHost):\($0)" } ?? originHost
    return originAuthority.lowercased() == host.lowercased()
  }
}

