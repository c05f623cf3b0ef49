import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OrchionAPI
import OrchionCore
import OrchionServer
import SwiftProtobuf
import Synchronization

/// The dashboard's pages: each needs a session, and answers an error page for what the API refuses.
extension WebRoutes {

  /// Runs `render` for a request with a session; without one, 401 with how to log in.
  func page(
    _ request: Request,
    _ context: WebRequestContext,
    _ render: (DashboardSessions.Session) async throws -> Response
  ) async throws -> Response {
    if let refusal = Self.queryRefusal(request) { return refusal }
    let session: DashboardSessions.Session
    switch await access.session(of: request, from: context.callerAddress) {
    case .found(let found): session = found
    case .none: return Self.loginRequired()
    case .limited(let message): return Self.tooManyFailures(message)
    }
    do {
      return try await render(session)
    } catch let error as OrchionError {
      return Self.errorPage(error)
    }
  }

  func overview(_ session: DashboardSessions.Session) async throws -> Response {
    let summary = api.summary()
    let latest = try await api.listTasks(.with { $0.pageSize = 10 }).tasks
    let now = clock.now
    return Pages.page(title: "Overview", active: "/", session: session) { html in
      OverviewPage.render(summary, latest: latest, now: now, into: &html)
    }
  }

  func nodes(_ session: DashboardSessions.Session) async throws -> Response {
    let nodes = try await api.listNodes()
    let now = clock.now
    return Pages.page(title: "Nodes", active: "/nodes", session: session) { html in
      NodesPage.render(nodes, now: now, into: &html)
    }
  }

  func tasks(_ request: Request, _ session: DashboardSessions.Session) async throws -> Response {
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

  /// The task's page; with `?parts=summary` (what the page's script polls every 2 s for its
  /// summary and timeline) without reading the output, which the live stream already carries.
  func task(_ id: String, _ request: Request, _ session: DashboardSessions.Session) async throws
    -> Response
  {
    let task = try await api.getTask(id)
    let summaryOnly = request.uri.queryParameters["parts"] == "summary"
    let output = summaryOnly ? TaskPage.Output() : try await renderedOutput(of: id)
    let now = clock.now
    return Pages.page(title: "Task \(task.id)", active: "/tasks", session: session) { html in
      TaskPage.render(task, output: output, session: session, now: now, into: &html)
    }
  }

  /// The output so far, for the page as rendered (the live stream continues after it).
  func renderedOutput(of id: String) async throws -> TaskPage.Output {
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
