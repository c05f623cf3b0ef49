import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OrchionAPI
import OrchionCore
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

  /// The longest query string looked at, and the longest single value.
  static let maxQueryBytes = 2_048
  static let maxParameterBytes = 256

  var access: WebAccess { WebAccess(orchestrator: orchestrator) }
  var api: InProcessAPI { orchestrator.api }

  func register(on router: Router<BasicRequestContext>) {
    router.get("/healthz") { _, _ in Self.plain(.ok, "ok\n") }
    router.get("/readyz") { _, _ in
      await api.isReady() ? Self.plain(.ok, "ready\n") : Self.plain(.serviceUnavailable, "not ready: not the leader, or the store does not answer\n")
    }
    router.get("/metrics") { request, _ in try await metrics(request) }
    router.get("/login") { request, _ in try await login(request) }
    router.get("/install.sh") { request, _ in try installScript(request) }
    router.get("/install/ca.pem") { _, _ in try caCertificate() }
    router.get("/download/:file") { _, context in try download(context.parameters.get("file") ?? "") }
    router.get("/assets/dashboard.css") { _, _ in Self.asset(Assets.css, type: "text/css; charset=utf-8") }
    router.get("/assets/dashboard.js") { _, _ in Self.asset(Assets.javascript, type: "text/javascript; charset=utf-8") }
    router.get("/") { request, _ in try await page(request) { session in try await overview(session) } }
    router.get("/nodes") { request, _ in try await page(request) { session in try await nodes(session) } }
    router.get("/tasks") { request, _ in try await page(request) { session in try await tasks(request, session) } }
    router.get("/tasks/:id") { request, context in
      let id = context.parameters.get("id") ?? ""
      return try await page(request) { session in try await task(id, session) }
    }
    router.get("/tasks/:id/events") { request, context in
      try await events(request, id: context.parameters.get("id") ?? "")
    }
    router.post("/tasks/:id/cancel") { request, context in
      try await cancel(request, id: context.parameters.get("id") ?? "")
    }
  }

  // MARK: Pages

  /// Runs `render` for a request with a session; without one, 401 with how to log in.
  private func page(
    _ request: Request,
    _ render: (DashboardSessions.Session) async throws -> Response
  ) async throws -> Response {
    if let refusal = Self.queryRefusal(request) { return refusal }
    guard let session = await access.session(of: request) else { return Self.loginRequired() }
    do {
      return try await render(session)
    } catch let error as OrchionError {
      return Self.errorPage(error)
    }
  }

  private func overview(_ session: DashboardSessions.Session) async throws -> Response {
    let summary = api.summary()
    let latest = try await api.listTasks(.with { $0.pageSize = 10 }).tasks
    let now = clock.now
    return Pages.page(title: "Overview", active: "/", session: session) { html in
      OverviewPage.render(summary, latest: latest, now: now, into: &html)
    }
  }

  private func nodes(_ session: DashboardSessions.Session) async throws -> Response {
    let nodes = try await api.listNodes()
    let now = clock.now
    return Pages.page(title: "Nodes", active: "/nodes", session: session) { html in
      NodesPage.render(nodes, now: now, into: &html)
    }
  }

  private func tasks(_ request: Request, _ session: DashboardSessions.Session) async throws -> Response {
    let query = request.uri.queryParameters
    var filter = TasksPage.Filter()
    if let state = query["state"].map(String.init), !state.isEmpty {
      guard let index = TasksPage.stateNames.firstIndex(of: state.uppercased()) else {
        return Pages.error(
          .badRequest,
          "state: \(state) is not a task state (\(TasksPage.stateNames.joined(separator: ", ")))"
        )
      }
      filter.stateName = TasksPage.stateNames[index]
      filter.state = Orchion_V1_TaskState(rawValue: index + 1) ?? .unspecified
    }
    filter.node = query["node"].map(String.init) ?? ""
    filter.name = query["name"].map(String.init) ?? ""
    filter.after = query["after"].map(String.init) ?? ""
    let page = try await api.listTasks(
      .with {
        $0.state = filter.state
        $0.nodeID = filter.node
        $0.nameContains = filter.name
        $0.pageToken = filter.after
        $0.pageSize = TasksPage.Filter.pageSize
      }
    )
    let now = clock.now
    return Pages.page(title: "Tasks", active: "/tasks", session: session) { html in
      TasksPage.render(page, filter: filter, now: now, into: &html)
    }
  }

  private func task(_ id: String, _ session: DashboardSessions.Session) async throws -> Response {
    let task = try await api.getTask(id)
    let output = try await renderedOutput(of: id)
    let now = clock.now
    return Pages.page(title: "Task \(task.id)", active: "/tasks", session: session) { html in
      TaskPage.render(task, output: output, session: session, now: now, into: &html)
    }
  }

  /// The output so far, for the page as rendered (the live stream continues after it).
  private func renderedOutput(of id: String) async throws -> TaskPage.Output {
    let collected = OutputCollector()
    try await api.followLog(
      id,
      from: 0,
      follow: false,
      missed: { bytes in collected.missed(bytes) },
      write: { chunks in collected.add(chunks) },
      final: { _ in }
    )
    return collected.output
  }

  // MARK: Live output and cancel

  private func events(_ request: Request, id: String) async throws -> Response {
    if let refusal = Self.queryRefusal(request) { return refusal }
    guard await access.session(of: request) != nil else {
      return Self.plain(.unauthorized, "log in first: orchion dashboard prints a login link\n")
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

  private func cancel(_ request: Request, id: String) async throws -> Response {
    if let refusal = Self.queryRefusal(request) { return refusal }
    guard let session = await access.session(of: request) else { return Self.loginRequired() }
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

  // MARK: Login, metrics

  private func login(_ request: Request) async throws -> Response {
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

  private func metrics(_ request: Request) async throws -> Response {
    if !configuration.metricsPublic {
      guard let authorization = request.headers[.authorization],
        await orchestrator.httpAccess(authorization: authorization) != nil
      else {
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

  // MARK: Joining machines

  private func installScript(_ request: Request) throws -> Response {
    let scheme = configuration.tls == nil ? "http" : "https"
    // The address the machine used to fetch the script reaches us; anything odd in it (it
    // goes into a shell script) falls back to our own.
    let authority = request.head.authority.flatMap { Self.isPlainAuthority($0) ? $0 : nil }
    let base = authority.map { "\(scheme)://\($0)" } ?? orchestrator.sessions.dashboardURL ?? ""
    let script = InstallScript.render(
      .init(
        base: base,
        pinnedKey: configuration.tls == nil ? nil : configuration.install.pinnedKey,
        servesCA: configuration.install.caPath != nil,
        binaries: try downloads.all().map { (arch: $0.arch, sha256: $0.sha256) }
      )
    )
    var headers = HTTPFields()
    headers[.contentType] = "text/x-shellscript; charset=utf-8"
    headers[.cacheControl] = "no-store"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: script)))
  }

  private func caCertificate() throws -> Response {
    guard configuration.tls != nil, let path = configuration.install.caPath,
      let data = FileManager.default.contents(atPath: path)
    else { return Self.plain(.notFound, "this orchestrator hands out no CA (plain HTTP, or no CA file)\n") }
    var headers = HTTPFields()
    headers[.contentType] = "application/x-pem-file"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
  }

  private func download(_ file: String) throws -> Response {
    let prefix = "orchion-linux-"
    guard file.hasPrefix(prefix), let binary = try downloads.binary(for: String(file.dropFirst(prefix.count)))
    else {
      return Self.plain(
        .notFound,
        "no such download; this orchestrator serves \((try? downloads.all().map { prefix + $0.arch }.joined(separator: ", ")) ?? "nothing")\n"
      )
    }
    var headers = HTTPFields()
    headers[.contentType] = "application/octet-stream"
    headers[.contentLength] = "\(binary.size)"
    headers[.contentDisposition] = "attachment; filename=\"\(file)\""
    if let digestName = HTTPField.Name("X-Orchion-SHA256") { headers[digestName] = binary.sha256 }
    let path = binary.path
    let size = binary.size
    return Response(
      status: .ok,
      headers: headers,
      body: ResponseBody(contentLength: Int(size)) { writer in
        guard let handle = FileHandle(forReadingAtPath: path) else {
          throw OrchionError.unavailable("cannot read \(path)")
        }
        defer { try? handle.close() }
        var sent: Int64 = 0
        // Exactly the size announced: a file that grew meanwhile is cut at it.
        while sent < size, let chunk = try handle.read(upToCount: Int(min(1 << 20, size - sent))), !chunk.isEmpty {
          try await writer.write(ByteBuffer(bytes: chunk))
          sent += Int64(chunk.count)
        }
        try await writer.finish(nil)
      }
    )
  }

  /// A host and port made of characters that cannot mean anything to a shell.
  static func isPlainAuthority(_ authority: String) -> Bool {
    !authority.isEmpty && authority.utf8.count <= 255
      && authority.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }
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

/// Gathers a task's output for a page as it is rendered.
private final class OutputCollector: Sendable {
  private let state = Mutex(TaskPage.Output())

  var output: TaskPage.Output { state.withLock { $0 } }

  func missed(_ bytes: Int64) { state.withLock { $0.missedBytes = bytes } }

  func add(_ chunks: [InProcessAPI.PositionedChunk]) {
    state.withLock { output in
      for chunk in chunks {
        output.lastPosition = chunk.position
        if let event = OutputEvent(chunk.chunk) { output.events.append(event) }
      }
    }
  }
}
