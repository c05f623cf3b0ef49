import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OrchionCore
import OrchionServer

/// Page layout and the shared formatting of times, durations and states.
enum Pages {
  /// A whole page: header with navigation, `body` inside `<main>`.
  static func page(
    title: String,
    active: String,
    session: DashboardSessions.Session?,
    _ body: (inout HTML) -> Void
  ) -> Response {
    var html = HTML()
    html.raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
    html.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
    html.text(title)
    html.raw(" · Orchion</title><link rel=\"stylesheet\" href=\"/assets/dashboard.css\">")
    html.raw("<script src=\"/assets/dashboard.js\" defer></script></head>")
    html.raw("<body><header><a class=\"brand\" href=\"/\">Orchion</a><nav>")
    for (path, name) in [("/", "Overview"), ("/nodes", "Nodes"), ("/tasks", "Tasks")] {
      html.raw("<a href=\"\(path)\"\(path == active ? " class=\"active\"" : "")>\(name)</a>")
    }
    html.raw("</nav>")
    if let session {
      html.raw("<span class=\"who\">\(session.access == .admin ? "admin" : "read-only")</span>")
    }
    html.raw("</header><main id=\"main\" data-refresh=\"2000\">")
    body(&html)
    html.raw("</main></body></html>")
    return response(.ok, html: html.text)
  }

  /// A page that says what went wrong, with its status.
  static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
    var html = HTML()
    let heading = "\(status.code) \(status.reasonPhrase)"
    html.raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
    html.text(heading)
    html.raw(" · Orchion</title><link rel=\"stylesheet\" href=\"/assets/dashboard.css\"></head>")
    html.raw("<body><header><a class=\"brand\" href=\"/\">Orchion</a></header><main><h1>")
    html.text(heading)
    html.raw("</h1><p class=\"error\" id=\"error\">")
    html.text(message)
    html.raw("</p></main></body></html>")
    return response(status, html: html.text)
  }

  static func response(_ status: HTTPResponse.Status, html: String) -> Response {
    var headers = securityHeaders
    headers[.contentType] = "text/html; charset=utf-8"
    headers[.cacheControl] = "no-store"
    return Response(
      status: status,
      headers: headers,
      body: .init(byteBuffer: ByteBuffer(string: html))
    )
  }

  /// Everything the dashboard loads comes from the orchestrator; no other site frames it.
  static var securityHeaders: HTTPFields {
    var headers = HTTPFields()
    headers[.contentSecurityPolicy] =
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    headers[.xContentTypeOptions] = "nosniff"
    if let referrerPolicy = HTTPField.Name("Referrer-Policy") {
      headers[referrerPolicy] = "no-referrer"
    }
    return headers
  }

  /// `2026-12-04 18:30:05Z`.
  static func time(_ instant: UTCInstant?) -> String {
    guard let instant else { return "—" }
    let seconds = instant.nanosecondsSinceEpoch / 1_000_000_000
    let date = Date(timeIntervalSince1970: TimeInterval(seconds))
    return date.formatted(.iso8601).replacingOccurrences(of: "T", with: " ")
  }

  /// `850ms`, `12s`, `3m 05s`, `2h 10m`, `4d 3h`; `—` when either end is unknown.
  static func duration(from start: UTCInstant?, to end: UTCInstant?) -> String {
    guard let start, let end else { return "—" }
    let (difference, overflow) = end.nanosecondsSinceEpoch.subtractingReportingOverflow(
      start.nanosecondsSinceEpoch
    )
    return duration(nanoseconds: overflow ? 0 : max(0, difference))
  }

  static func duration(nanoseconds: Int64) -> String {
    let milliseconds = nanoseconds / 1_000_000
    if milliseconds < 1_000 { return "\(milliseconds)ms" }
    let seconds = milliseconds / 1_000
    if seconds < 60 { return "\(seconds)s" }
    if seconds < 3_600 { return "\(seconds / 60)m \(twoDigits(seconds % 60))s" }
    if seconds < 86_400 { return "\(seconds / 3_600)h \(twoDigits(seconds % 3_600 / 60))m" }
    return "\(seconds / 86_400)d \(seconds % 86_400 / 3_600)h"
  }

  private static func twoDigits(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

  /// A state badge, `<span class="state succeeded">SUCCEEDED</span>`.
  static func badge(_ state: String) -> String {
    let name = HTML.escape(state)
    return "<span class=\"state \(name.lowercased())\">\(name)</span>"
  }
}

extension HTTPFields {
  /// The first value of the field called `name` (lowercase): for the fields HTTPTypes has no
  /// name for (`sec-fetch-site`, `last-event-id`).
  func value(named name: String) -> String? {
    first { $0.name.canonicalName == name }?.value
  }
}
