import OrchionAPI
import OrchionCore

/// `/nodes`: every registered node, its state, what it has and what is used of it.
enum NodesPage {
  static func render(_ nodes: [Orchion_V1_Node], now: UTCInstant, into html: inout HTML) {
    html.raw("<h1>Nodes <span class=\"count\">\(nodes.count)</span></h1>")
    guard !nodes.isEmpty else {
      html.raw("<p class=\"empty\">No node has joined yet: run <code>orchion agent --server … --token …</code> on a machine.</p>")
      return
    }
    html.raw("<table id=\"nodes\"><thead><tr><th>Node</th><th>Status</th><th>Scheduling</th><th>CPU</th><th>Memory</th><th>GPUs</th><th>Tasks</th><th>Agent CLIs</th><th>Labels</th><th>Last heartbeat</th><th>Version</th></tr></thead><tbody>")
    for node in nodes.sorted(by: { $0.id < $1.id }) {
      html.raw("<tr data-node=\"\(HTML.escape(node.id))\"><td class=\"id\">")
      html.text(node.id)
      html.raw("</td><td>\(Pages.badge(WireText.status(node.status)))</td><td>")
      if node.hasDrainDeadline {
        html.raw("<span class=\"flag draining\">draining</span>")
      } else if node.cordoned {
        html.raw("<span class=\"flag cordoned\">cordoned</span>")
      } else {
        html.raw("eligible")
      }
      html.raw("</td><td>")
      html.text("\(WireText.cores(node.allocated.cpuMillis)) / \(WireText.cores(node.resources.cpuMillis))")
      html.raw("</td><td>")
      html.text("\(WireText.bytes(node.allocated.memoryBytes)) / \(WireText.bytes(node.resources.memoryBytes))")
      html.raw("</td><td>")
      html.text("\(node.allocated.gpus) / \(node.resources.gpus)")
      html.raw("</td><td><a href=\"/tasks?node=\(HTML.query(node.id))\">")
      html.text("\(node.runningTasks) / \(node.slots)")
      html.raw("</a></td><td>")
      html.text(node.agents.map { $0.version.isEmpty ? $0.name : "\($0.name) \($0.version)" }.joined(separator: ", "))
      html.raw("</td><td class=\"labels\">")
      for (key, value) in node.labels.sorted(by: { $0.key < $1.key }) {
        html.raw("<span class=\"label\">")
        html.text(value.isEmpty ? key : "\(key)=\(value)")
        html.raw("</span> ")
      }
      html.raw("</td><td>")
      let heartbeat = WireText.instant(node.lastHeartbeat, set: node.hasLastHeartbeat)
      html.text(heartbeat.map { "\(Pages.duration(from: $0, to: now)) ago" } ?? "—")
      html.raw("</td><td>")
      html.text(node.agentVersion)
      html.raw("</td></tr>")
    }
    html.raw("</tbody></table>")
  }
}
