import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OrchionAPI
import OrchionCore
import OrchionMCP
import OrchionServer
import SwiftProtobuf
import Synchronization

/// Every HTTP endpoint: probes, `/metrics`, login, the dashboard's pages, live output and
/// cancel. Every query parameter is checked before anything is read (400 naming it), an
/// unknown task is a 404 page, a page without a session is 401 saying how to log in.
struct WebRoutes: Sendable {
  let orchestrator: Orchestrator
  let configuration: WebConfiguration
  let exporter: MetricsExporter
  let clock: any WallClock
  let downloads: Downloads
  /// `/mcp`'s sessions; `nil` where MCP is not served.
  let mcpSessions: MCPHTTPSessions?

  /// The longest query string looked at, and the longest single value.
  static let maxQueryBytes = 2_048
  static let maxParameterBytes = 256

  var access: WebAccess { WebAccess(orchestrator: orchestrator) }
  var api: InProcessAPI { orchestrator.api }

  func register(on router: Router<WebRequestContext>) {
    router.get("/healthz") { _, _ in Self.plain(.ok, "ok\n") }
    router.get("/readyz") { _, _ in
      await api.isReady() ? Self.plain(.ok, "ready\n") : Self.plain(.serviceUnavailable, "not ready: not the leader, or the store does not answer\n")
    }
    router.get("/metrics") { request, context in try await metrics(request, from: context.callerAddress) }
    router.get("/login") { request, _ in try await login(request) }
    router.get("/install.sh") { request, _ in try installScript(request) }
    router.get("/install/ca.pem") { _, _ in try caCertificate() }
    router.get("/download/:file") { _, context in try download(context.parameters.get("file") ?? "") }
    router.get("/assets/dashboard.css") { _, _ in Self.asset(Assets.css, type: "text/css; charset=utf-8") }
    router.get("/assets/dashboard.js") { _, _ in Self.asset(Assets.javascript, type: "text/javascript; charset=utf-8") }
    router.get("/") { request, context in
      try await page(request, context) { session in try await overview(session) }
    }
    router.get("/nodes") { request, context in
      try await page(request, context) { session in try await nodes(session) }
    }
    router.get("/tasks") { request, context in
      try await page(request, context) { session in try await tasks(request, session) }
    }
    router.get("/tasks/:id") { request, context in
      let id = context.parameters.get("id") ?? ""
      return try await page(request, context) { session in try await task(id, request, session) }
    }
    router.get("/tasks/:id/events") { request, context in
      try await events(request, context, id: context.parameters.get("id") ?? "")
    }
    router.post("/tasks/:id/cancel") { request, context in
      try await cancel(request, context, id: context.parameters.get("id") ?? "")
    }
    router.post("/mcp") { request, context in try await mcp(request, context) }
    router.get("/mcp") { request, context in try await mcp(request, context) }
    router.delete("/mcp") { request, context in try await mcp(request, context) }
  }

  // MARK: Helpers

  /// 400 for a query string or value longer than anything the dashboard makes.
  static func queryRefusal(_ request: Request) -> Response? {
    let query = request.uri.query ?? ""
    guard query.utf8.count <= maxQueryBytes else {
      return Pages.error(.badRequest, "the query string is longer than \(maxQueryBytes) bytes")
    }
    for (name, value) in request.uri.queryParameters where value.utf8.count > maxParameterBytes {
      return Pages.error(.badRequest, "\(HTML.escape(String(name.prefix(32)))): longer than \(maxParameterBytes) bytes")
    }
    return nil
  }

  static func errorPage(_ error: OrchionError) -> Response {
    Pages.error(status(of: error), error.message)
  }

  static func status(of error: OrchionError) -> HTTPResponse.Status {
    switch error.code {
    case .invalidArgument: .badRequest
    case .notFound: .notFound
    case .permissionDenied: .forbidden
    case .unauthenticated: .unauthorized
    case .failedPrecondition: .conflict
    case .resourceExhausted: .tooManyRequests
    case .unavailable, .leaseLost: .serviceUnavailable
    default: .internalServerError
    }
  }

  /// 429 for an address that failed to authenticate too often (as on the gRPC port).
  static func tooManyFailures(_ message: String) -> Response {
    Pages.error(.tooManyRequests, message)
  }

  static func loginRequired() -> Response {
    Pages.error(
      .unauthorized,
      "Log in first: run orchion dashboard on a machine whose CLI has an admin or read token, and open the link it prints (it works once, for 2 minutes)."
    )
  }

  static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "text/plain; charset=utf-8"
    headers[.cacheControl] = "no-store"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
  }

  static func asset(_ text: String, type: String) -> Response {
    var headers = Pages.securityHeaders
    headers[.contentType] = type
    headers[.cacheControl] = "max-age=300"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
  }

  /// `application/x-www-form-urlencoded` fields.
  static func formFields(_ body: String) -> [String: String] {
    var fields: [String: String] = [:]
    for pair in body.split(separator: "&") {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let decode = { (text: Substring) in
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
      }
      guard let name = parts.first else { continue }
      fields[decode(name)] = parts.count > 1 ? decode(parts[1]) : ""
    }
    return fields
  }
}
