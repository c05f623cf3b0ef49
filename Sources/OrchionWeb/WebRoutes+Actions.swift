import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OrchionAPI
import OrchionCore
import OrchionServer
import SwiftProtobuf

/// Live output and cancel.
extension WebRoutes {

  func events(_ request: Request, _ context: WebRequestContext, id: String) async throws -> Response {
    if let refusal = Self.queryRefusal(request) { return refusal }
    switch await access.session(of: request, from: context.callerAddress) {
    case .found: break
    case .none: return Self.plain(.unauthorized, "log in first: orchion dashboard prints a login link\n")
    case .limited(let message): return Self.plain(.tooManyRequests, message + "\n")
    }
    // A reconnecting EventSource names the last event it had; a page names where it stopped.
    let resume = request.headers.value(named: "last-event-id") ?? request.uri.queryParameters["after"].map(String.init) ?? "-1"
    guard let after = Int64(resume.trimmingCharacters(in: .whitespaces)), after >= -1 else {
      return Self.plain(.badRequest, "Last-Event-ID (or after): must be an event ID, a whole number from -1\n")
    }
    do {
      return try await LiveOutput(api: api, keepAliveInterval: configuration.keepAliveInterval)
        .response(task: id, after: after)
    } catch let error as OrchionError {
      return Self.plain(Self.status(of: error), error.message + "\n")
    }
  }

  func cancel(_ request: Request, _ context: WebRequestContext, id: String) async throws -> Response {
    if let refusal = Self.queryRefusal(request) { return refusal }
    let session: DashboardSessions.Session
    switch await access.session(of: request, from: context.callerAddress) {
    case .found(let found): session = found
    case .none: return Self.loginRequired()
    case .limited(let message): return Self.tooManyFailures(message)
    }
    let body = try await request.body.collect(upTo: 4_096)
    let form = Self.formFields(String(buffer: body))
    if let refusal = access.refusal(of: request, session: session, csrf: form["csrf"]) {
      return refusal
    }
    do {
      _ = try await api.cancelTask(id)
    } catch let error as OrchionError {
      return Self.errorPage(error)
    }
    var headers = Pages.securityHeaders
    headers[.location] = "/tasks/\(HTML.query(id))"
    return Response(status: .seeOther, headers: headers)
  }
}
