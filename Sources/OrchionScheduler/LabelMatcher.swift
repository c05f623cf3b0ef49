import OrchionCore

/// Answers "does this node's labels satisfy this task's selector and constraints" once per
/// distinct label set and distinct rule set, since in a large cluster many nodes share labels
/// and many tasks share rules.
struct LabelMatcher {
  private struct Rules: Hashable {
    var selector: [String: String]
    var constraints: [LabelConstraint]
  }

  private enum Answer: UInt8 {
    case unknown, yes, no
  }

  /// The label class of each node (index into `classLabels`).
  private let nodeClass: [Int]
  private let classLabels: [[String: String]]
  /// Each node's ID, for tasks pinned to one node.
  private let nodeIDs: [NodeID]
  private var tables: [[Answer]] = []
  private var tableOfRules: [Rules: Int] = [:]

  init(labels: [[String: String]], ids: [NodeID]) {
    nodeIDs = ids
    var classes: [[String: String]: Int] = [:]
    var classLabels: [[String: String]] = []
    var nodeClass: [Int] = []
    nodeClass.reserveCapacity(labels.count)
    for nodeLabels in labels {
      if let existing = classes[nodeLabels] {
        nodeClass.append(existing)
      } else {
        classes[nodeLabels] = classLabels.count
        nodeClass.append(classLabels.count)
        classLabels.append(nodeLabels)
      }
    }
    self.nodeClass = nodeClass
    self.classLabels = classLabels
  }

  /// A handle for `task`'s rules, to pass to ``accepts(_:node:)``; `nil` when it has none.
  mutating func table(for task: PendingTask) -> Int? {
    if task.nodeSelector.isEmpty, task.constraints.isEmpty { return nil }
    let rules = Rules(selector: task.nodeSelector, constraints: task.constraints)
    if let table = tableOfRules[rules] { return table }
    tables.append(Array(repeating: .unknown, count: classLabels.count))
    tableOfRules[rules] = tables.count - 1
    return tables.count - 1
  }

  /// Whether the node at `node` satisfies `task`'s rules (`table` from ``table(for:)``).
  mutating func accepts(_ task: PendingTask, table: Int?, node: Int) -> Bool {
    if let pinned = task.node, nodeIDs[node] != pinned { return false }
    guard let table else { return true }
    let labelClass = nodeClass[node]
    switch tables[table][labelClass] {
    case .yes: return true
    case .no: return false
    case .unknown:
      let accepted = task.accepts(labels: classLabels[labelClass])
      tables[table][labelClass] = accepted ? .yes : .no
      return accepted
    }
  }
}
