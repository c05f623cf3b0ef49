/// How the scheduler chooses among the nodes a task fits on.
public enum PlacementStrategy: String, CaseIterable, Hashable, Sendable {
  /// The most allocated node that fits: fills nodes one by one and keeps large nodes free for
  /// large tasks. The default.
  case binpack
  /// The least allocated node: spreads load, and the loss of one node hurts least.
  case spread
  /// The next node in turn (by node ID) that fits, regardless of load.
  case roundRobin = "round-robin"

  /// The strategy a name denotes.
  /// - Throws: `invalidArgument` listing the known names.
  public init(validating name: String, field: String) throws(OrchionError) {
    guard let strategy = PlacementStrategy(rawValue: name) else {
      throw .invalidArgument(
        field: field,
        "\(field): unknown strategy \(TextRules.quoted(name)); use binpack, spread or round-robin"
      )
    }
    self = strategy
  }
}
