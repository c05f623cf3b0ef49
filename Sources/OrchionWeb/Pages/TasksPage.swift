import OrchionAPI
import OrchionCore

/// `/tasks`: newest first, filtered by state, node and name, a page at a time.
enum TasksPage {
  /// What the query string asked for, validated (see ``WebRoutes``).
  struct Filter: Sendable {
    var state: Orchion_V1_TaskState = .unspecified
    var stateName = ""
    var node = ""
    var name = ""
    var after = ""
    static let pageSize: Int32 = 50
  }

  static let stateNames = ["PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]

  static func render(
    _ page: Orchion_V1_ListTasksResponse,
    filter: Filter,
    now: UTCInstant,
    into html: inout HTML
  ) {
    html.raw("<h1>Tasks</h1><form class=\"filters\" method=\"get\" action=\"/tasks\"><label>State <select name=\"state\"><option value=\"\">any</option>")
    for name in stateNames {
      html.raw("<option value=\"\(name)\"\(name == filter.stateName ? " selected" : "")>\(name)</option>")
    }
    html.raw("</select></label> <label>Node <input name=\"node\" maxlength=\"253\" value=\"")
    html.text(filter.node)
    html.raw("\"></label> <label>Name <input name=\"name\" maxlength=\"256\" value=\"")
    html.text(filter.name)
    html.raw("\"></label> <button type=\"submit\">Filter</button></form>")
    table(page.tasks, now: now, into: &html)
    if !page.nextPageToken.isEmpty {
      var query = "after=\(HTML.query(page.nextPageToken))"
      if !filter.stateName.isEmpty { query += "&state=\(HTML.query(filter.stateName))" }
      if !filter.node.isEmpty { query += "&node=\(HTML.query(filter.node))" }
      if !filter.name.isEmpty { query += "&name=\(HTML.query(filter.name))" }
      html.raw("<p class=\"pages\"><a id=\"older\" href=\"/tasks?\(HTML.escape(query))\">Older tasks →</a></p>")
    }
  }

  /// The task table, shared with the overview's latest tasks.
  static func table(_ tasks: [Orchion_V1_Task], now: UTCInstant, into html: inout HTML) {
    guard !tasks.isEmpty else {
      html.raw("<p class=\"empty\">No tasks match.</p>")
      return
    }
    html.raw("<table id=\"tasks\"><thead><tr><th>Task</th><th>Name</th><th>State</th><th>Node</th><th>Attempts</th><th>Age</th><th>Duration</th><th>Exit</th><th>Message</th></tr></thead><tbody>")
    for task in tasks {
      let created = WireText.instant(task.createdAt, set: task.hasCreatedAt)
      let started = WireText.instant(task.startedAt, set: task.hasStartedAt)
      let finished = WireText.instant(task.finishedAt, set: task.hasFinishedAt)
      let state = WireText.state(task.state)
      html.raw("<tr data-task=\"\(HTML.escape(task.id))\"><td class=\"id\"><a href=\"/tasks/\(HTML.query(task.id))\">")
      html.text(task.id)
      html.raw("</a></td><td>")
      html.text(task.spec.name.isEmpty ? task.spec.command.joined(separator: " ") : task.spec.name)
      html.raw("</td><td>\(Pages.badge(state))</td><td>")
      html.text(task.nodeID.isEmpty ? "—" : task.nodeID)
      html.raw("</td><td>\(task.attempt)</td><td>")
      html.text(Pages.duration(from: created, to: now))
      html.raw("</td><td>")
      html.text(Pages.duration(from: started, to: finished ?? (started == nil ? nil : now)))
      html.raw("</td><td>")
      html.text(task.hasFinishedAt && state != "CANCELLED" ? "\(task.exitCode)" : "—")
      html.raw("</td><td class=\"message\">")
      html.text(task.message)
      html.raw("</td></tr>")
    }
    html.raw("</tbody></table>")
  }
}
