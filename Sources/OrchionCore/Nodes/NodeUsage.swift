/// What is placed on a node right now: reserved resources and task count.
public struct NodeUsage: Hashable, Sendable {
  /// Resources reserved by tasks placed on the node.
  public var allocated: Resources
  /// Number of tasks placed on the node.
  public var tasks: Int

  /// Creates a usage figure.
  public init(allocated: Resources, tasks: Int) {
    self.allocated = allocated
    self.tasks = tasks
  }

  /// Nothing placed.
  public static let none = NodeUsage(allocated: .zero, tasks: 0)
}

