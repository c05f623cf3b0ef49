import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OrchionAPI
import OrchionCore
import OrchionServer
import SwiftProtobuf

/// Login links and /metrics.
extension WebRoutes {

  func login(_ request: Request) async throws -> Response {
    if let refusal = Self.queryRefusal(request) { return refusal }
    guard let code = request.uri.queryParameters["code"].map(String.init),
      let (cookie, _) = orchestrator.sessions.redeem(code)
    else {
      return Pages.error(
        .unauthorized,
        "This login link is not valid: it is used, expired (links last 2 minutes) or mistyped. Run orchion dashboard for a new one."
      )
    }
    var response = Response(status: .seeOther, headers: Pages.securityHeaders)
    response.headers[.location] = "/"
    response.setCookie(
      Cookie(
        name: DashboardSessions.cookieName,
        value: cookie,
        maxAge: Int(DashboardSessions.sessionLifetime.components.seconds),
        path: "/",
        secure: configuration.tls != nil,
        httpOnly: true,
        sameSite: .strict
      )
    )
    return response
  }

  func metrics(_ request: Request, from address: String) async throws -> Response {
    if !configuration.metricsPublic {
      let access = await orchestrator.httpAccess(
        authorization: request.headers[.authorization],
        from: address
      )
      if case .limited(let message) = access { return Self.plain(.tooManyRequests, message + "\n") }
      guard case .granted = access else {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer realm=\"orchion\""
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(
          status: .unauthorized,
          headers: headers,
          body: .init(byteBuffer: ByteBuffer(string: "/metrics needs Authorization: Bearer <admin or read token> (or --metrics-public)\n"))
        )
      }
    }
    let body = exporter.render(api: api, isLeader: orchestrator.leadership.isLeader)
    var headers = HTTPFields()
    headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
  }
}
