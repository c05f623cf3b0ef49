import Foundation
import OrchionAPI
import OrchionCore
import OrchionServer

/// `/`: the fleet at a glance — nodes and tasks by state, queue depth, capacity in use, and
/// throughput over the last minutes as server-drawn charts, then the latest tasks.
enum OverviewPage {
  static func render(
    _ summary: ClusterSummary,
    latest: [Orchion_V1_Task],
    now: UTCInstant,
    into html: inout HTML
  ) {
    html.raw("<h1>Overview</h1><section class=\"cards\">")
    let nodes = summary.nodesByStatus
    card("Nodes active", "\(nodes[.active, default: 0])", id: "nodes-active", into: &html)
    card("Nodes inactive", "\(nodes[.inactive, default: 0])", id: "nodes-inactive", into: &html)
    card("Nodes disconnected", "\(nodes[.disconnected, default: 0])", id: "nodes-disconnected", into: &html)
    card("Queue depth", "\(summary.queueDepth)", id: "queue-depth", into: &html)
    for state in TaskState.allCases {
      card(state.description.capitalized, "\(summary.tasksByState[state, default: 0])", id: "tasks-\(state.description.lowercased())", into: &html)
    }
    html.raw("</section><h2>Tasks by state</h2>")
    html.raw(
      SVGChart.shares(
        TaskState.allCases.map { (name: $0.description, cssClass: $0.description.lowercased(), value: summary.tasksByState[$0, default: 0]) },
        title: "tasks by state"
      )
    )
    html.raw("<p class=\"legend\">")
    for state in TaskState.allCases where summary.tasksByState[state, default: 0] > 0 {
      html.raw("<span class=\"\(state.description.lowercased())\">■</span> ")
      html.text("\(state.description.lowercased()) \(summary.tasksByState[state, default: 0])  ")
    }
    html.raw("</p>")
    html.raw("<h2>Throughput, last \(ClusterSummary.minutes) minutes</h2><p class=\"legend\"><span class=\"submitted\">■</span> submitted <span class=\"finished\">■</span> finished, per minute</p>")
    html.raw(
      SVGChart.bars(
        [
          (name: "submitted", cssClass: "submitted", values: summary.submittedPerMinute),
          (name: "finished", cssClass: "finished", values: summary.finishedPerMinute),
        ],
        firstLabel: "\(ClusterSummary.minutes - 1) min ago",
        lastLabel: "now",
        title: "tasks submitted and finished per minute"
      )
    )
    html.raw("<h2>Capacity in use (active nodes)</h2><table class=\"capacity\"><tbody>")
    capacityRow("CPU", WireText.cores(summary.allocated.cpuMillis), WireText.cores(summary.capacity.cpuMillis), into: &html)
    capacityRow("Memory", WireText.bytes(summary.allocated.memoryBytes), WireText.bytes(summary.capacity.memoryBytes), into: &html)
    capacityRow("GPUs", "\(summary.allocated.gpus)", "\(summary.capacity.gpus)", into: &html)
    html.raw("</tbody></table><h2>Latest tasks</h2>")
    TasksPage.table(latest, now: now, into: &html)
    html.raw("<p><a href=\"/tasks\">All tasks →</a></p>")
  }

  private static func card(_ title: String, _ value: String, id: String, into html: inout HTML) {
    html.raw("<div class=\"card\" id=\"\(id)\"><div class=\"value\">")
    html.text(value)
    html.raw("</div><div class=\"title\">")
    html.text(title)
    html.raw("</div></div>")
  }

  private static func capacityRow(_ name: String, _ used: String, _ total: String, into html: inout HTML) {
    html.raw("<tr><th>\(name)</th><td>")
    html.text("\(used) of \(total)")
    html.raw("</td></tr>")
  }
}
