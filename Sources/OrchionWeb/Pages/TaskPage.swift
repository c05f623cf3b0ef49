import Foundation
import OrchionAPI
import OrchionCore
import OrchionServer
import SwiftProtobuf

/// `/tasks/{id}`: the task's summary, spec, attempts as a timeline, agent result, output so
/// far (live with JavaScript: `/tasks/{id}/events` from the last position shown) and, for
/// admins, a cancel button.
enum TaskPage {
  /// The output shown when the page was rendered, and the position of its last chunk.
  struct Output: Sendable {
    var events: [OutputEvent] = []
    var lastPosition: Int64 = -1
    var missedBytes: Int64? = nil
  }

  static func render(
    _ task: Orchion_V1_Task,
    output: Output,
    session: DashboardSessions.Session,
    now: UTCInstant,
    into html: inout HTML
  ) {
    let state = WireText.state(task.state)
    let terminal = ["SUCCEEDED", "FAILED", "CANCELLED"].contains(state)
    html.raw("<h1>Task <span class=\"id\">")
    html.text(task.id)
    html.raw("</span>")
    if !task.spec.name.isEmpty {
      html.raw(" <span class=\"name\">")
      html.text(task.spec.name)
      html.raw("</span>")
    }
    html.raw("</h1>")
    summary(task, state: state, now: now, into: &html)
    if session.access == .admin, !terminal {
      html.raw("<form id=\"cancel\" class=\"cancel\" method=\"post\" action=\"/tasks/\(HTML.query(task.id))/cancel\"><input type=\"hidden\" name=\"csrf\" value=\"")
      html.text(session.csrfToken)
      html.raw("\"><button type=\"submit\">Cancel task</button></form>")
    }
    timeline(task, now: now, into: &html)
    if task.hasAgentResult { agentResult(task.agentResult, into: &html) }
    html.raw("<h2>Output</h2>")
    if let missed = output.missedBytes {
      html.raw("<p class=\"notice\">")
      html.text(missed > 0 ? "\(missed) bytes of earlier output were dropped (the orchestrator keeps the newest)." : "Earlier output was dropped.")
      html.raw("</p>")
    }
    html.raw("<div id=\"agent-events\" class=\"agent-events\">")
    for event in output.events where event.kind == .agent { agentLine(event, into: &html) }
    html.raw("</div><pre id=\"output\" class=\"output\" data-task=\"\(HTML.escape(task.id))\" data-last-event-id=\"\(output.lastPosition)\" data-terminal=\"\(terminal ? "1" : "0")\">")
    for event in output.events where event.kind == .output {
      html.raw("<span class=\"\(event.stream)\">")
      html.text(event.text)
      html.raw("</span>")
    }
    html.raw("</pre>")
    spec(task.spec, into: &html)
  }

  static func agentLine(_ event: OutputEvent, into html: inout HTML) {
    html.raw("<div class=\"agent-event \(event.stream)\">")
    html.text(event.text)
    html.raw("</div>")
  }

  private static func summary(_ task: Orchion_V1_Task, state: String, now: UTCInstant, into html: inout HTML) {
    let created = WireText.instant(task.createdAt, set: task.hasCreatedAt)
    let started = WireText.instant(task.startedAt, set: task.hasStartedAt)
    let finished = WireText.instant(task.finishedAt, set: task.hasFinishedAt)
    html.raw("<dl id=\"summary\" class=\"summary\"><dt>State</dt><dd id=\"state\">\(Pages.badge(state))</dd><dt>Node</dt><dd>")
    if task.nodeID.isEmpty {
      html.raw("—")
    } else {
      html.raw("<a href=\"/tasks?node=\(HTML.query(task.nodeID))\">")
      html.text(task.nodeID)
      html.raw("</a>")
    }
    html.raw("</dd><dt>Attempt</dt><dd>\(task.attempt) of \(task.spec.maxAttempts == 0 ? 1 : task.spec.maxAttempts)</dd>")
    html.raw("<dt>Created</dt><dd>\(Pages.time(created))</dd><dt>Started</dt><dd>\(Pages.time(started))</dd><dt>Finished</dt><dd>\(Pages.time(finished))</dd>")
    html.raw("<dt>Duration</dt><dd>")
    html.text(Pages.duration(from: started, to: finished ?? (started == nil ? nil : now)))
    html.raw("</dd><dt>Exit code</dt><dd id=\"exit-code\">")
    html.text(task.hasFinishedAt && state != "CANCELLED" ? "\(task.exitCode)" : "—")
    html.raw("</dd><dt>Message</dt><dd id=\"message\">")
    html.text(task.message.isEmpty ? "—" : task.message)
    html.raw("</dd></dl>")
  }

  /// Each attempt as a bar: waiting for its node (assigned → started) then running
  /// (started → finished), to one time scale, with its outcome and durations.
  private static func timeline(_ task: Orchion_V1_Task, now: UTCInstant, into html: inout HTML) {
    html.raw("<h2>Attempts</h2><div id=\"timeline\" class=\"timeline\">")
    guard let created = WireText.instant(task.createdAt, set: task.hasCreatedAt) else {
      html.raw("</div>")
      return
    }
    let end = WireText.instant(task.finishedAt, set: task.hasFinishedAt) ?? now
    let span = max(1, end.nanosecondsSinceEpoch &- created.nanosecondsSinceEpoch)
    func x(_ instant: UTCInstant) -> Double {
      let offset = instant.nanosecondsSinceEpoch &- created.nanosecondsSinceEpoch
      return min(600, max(0, 600 * Double(offset) / Double(span)))
    }
    let firstAssigned = task.attempts.first.flatMap { WireText.instant($0.assignedAt, set: $0.hasAssignedAt) }
    html.raw("<p class=\"phase\">pending ")
    html.text(Pages.duration(from: created, to: firstAssigned ?? (task.attempts.isEmpty ? end : nil)))
    html.raw(" before the first placement</p>")
    if task.attempts.isEmpty {
      html.raw("<p class=\"empty\">Not placed yet.</p></div>")
      return
    }
    html.raw("<table class=\"attempts\"><thead><tr><th>#</th><th>Node</th><th>Outcome</th><th>Assigned → started</th><th>Running</th><th>Exit</th><th>Reason</th><th class=\"bar\">Timeline</th></tr></thead><tbody>")
    for attempt in task.attempts {
      let assigned = WireText.instant(attempt.assignedAt, set: attempt.hasAssignedAt)
      let started = WireText.instant(attempt.startedAt, set: attempt.hasStartedAt)
      let finished = WireText.instant(attempt.finishedAt, set: attempt.hasFinishedAt)
      let outcome = WireText.outcome(attempt.outcome)
      html.raw("<tr><td>\(attempt.number)</td><td>")
      html.text(attempt.nodeID)
      html.raw("</td><td>\(Pages.badge(outcome))</td><td>")
      html.text(Pages.duration(from: assigned, to: started ?? finished ?? (outcome == "ACTIVE" ? now : nil)))
      html.raw("</td><td>")
      html.text(Pages.duration(from: started, to: finished ?? (started == nil ? nil : now)))
      html.raw("</td><td>")
      html.text(attempt.hasExitCode ? "\(attempt.exitCode)" : "—")
      html.raw("</td><td class=\"message\">")
      html.text(attempt.reason)
      html.raw("</td><td class=\"bar\"><svg viewBox=\"0 0 600 14\" class=\"attempt-bar\">")
      if let assigned {
        let waitEnd = started ?? finished ?? now
        html.raw("<rect class=\"assigned\" x=\"\(Int(x(assigned)))\" y=\"2\" width=\"\(max(1, Int(x(waitEnd) - x(assigned))))\" height=\"10\"/>")
      }
      if let started {
        let runEnd = finished ?? now
        html.raw("<rect class=\"running \(outcome.lowercased())\" x=\"\(Int(x(started)))\" y=\"2\" width=\"\(max(1, Int(x(runEnd) - x(started))))\" height=\"10\"/>")
      }
      html.raw("</svg></td></tr>")
    }
    html.raw("</tbody></table></div>")
  }

  private static func agentResult(_ result: Orchion_V1_AgentResult, into html: inout HTML) {
    html.raw("<h2>Agent result</h2><dl class=\"summary agent-result\"><dt>Status</dt><dd>")
    html.text(result.status == .succeeded ? "succeeded" : "failed")
    html.raw("</dd><dt>Model</dt><dd>")
    html.text(result.model.isEmpty ? "—" : result.model)
    html.raw("</dd><dt>Turns</dt><dd>\(result.turns)</dd><dt>Tokens</dt><dd>")
    html.text("in \(result.inputTokens) · out \(result.outputTokens) · cached \(result.cachedInputTokens)")
    html.raw("</dd><dt>Cost</dt><dd>")
    html.text(result.hasCostUsd ? "$\((result.costUsd * 10_000).rounded() / 10_000)" : "—")
    html.raw("</dd><dt>Session</dt><dd>")
    html.text(result.sessionID.isEmpty ? "—" : result.sessionID)
    html.raw("</dd></dl>")
    if !result.text.isEmpty {
      html.raw("<pre class=\"agent-text\">")
      html.text(result.text)
      html.raw("</pre>")
    }
  }

  /// What was asked for. Secret values are never here: only the names of secrets.
  private static func spec(_ spec: Orchion_V1_TaskSpec, into html: inout HTML) {
    html.raw("<h2>Spec</h2><dl class=\"summary spec\">")
    func row(_ name: String, _ value: String) {
      guard !value.isEmpty else { return }
      html.raw("<dt>\(name)</dt><dd>")
      html.text(value)
      html.raw("</dd>")
    }
    if spec.hasAgent {
      row("Agent", spec.agent.name + (spec.agent.model.isEmpty ? "" : " · \(spec.agent.model)"))
      row("Prompt", spec.agent.prompt)
    }
    row("Command", spec.command.map(quoted).joined(separator: " "))
    row("Workdir", spec.workdir)
    row("Environment", spec.env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n"))
    row("Secrets", spec.secretEnv.sorted { $0.key < $1.key }.map { "\($0.key) ← secret \($0.value)" }.joined(separator: "\n"))
    let resources = spec.resources
    row(
      "Resources",
      [
        resources.cpuMillis > 0 ? "cpu \(WireText.cores(resources.cpuMillis))" : "",
        resources.memoryBytes > 0 ? "memory \(WireText.bytes(resources.memoryBytes))" : "",
        resources.gpus > 0 ? "gpus \(resources.gpus)" : "",
      ].filter { !$0.isEmpty }.joined(separator: " · ")
    )
    row("Selector", spec.nodeSelector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
    row("Constraints", spec.constraints.joined(separator: ", "))
    row("Timeout", spec.hasTimeout ? Pages.duration(nanoseconds: spec.timeout.seconds &* 1_000_000_000) : "")
    row("Node", spec.nodeID)
    html.raw("</dl>")
  }

  private static func quoted(_ argument: String) -> String {
    let plain = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }
    return plain && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
